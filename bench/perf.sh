#!/usr/bin/env bash
# The performance table of docs/performance.md: every workload as a ratio against this
# machine's limits measured in the same run (bench/ml/bench_perf.cpp explains how).
# Each benchmark runs in its own process so that its peak resident memory is its own.
# Google Benchmark JSON goes to bench/results/perf/; the table to stdout.
# Not part of the tests (about 4 minutes on 2 cores); run it on an otherwise idle machine.
# Usage: bench/perf.sh [BUILD_DIR] [THREADS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(realpath "${1:-$ROOT/build}")
THREADS=${2:-$(nproc)}
PERF=$BUILD/bench/unigap_bench_perf
CORE=$BUILD/bench/unigap_bench_core
for b in "$PERF" "$CORE"; do
  [[ -x $b ]] || { echo "perf.sh: $b not built (cmake --build $BUILD --target unigap_bench_perf unigap_bench_core)" >&2; exit 1; }
done
OUT=$ROOT/bench/results/perf
rm -rf "$OUT"
mkdir -p "$OUT"
export OMP_NUM_THREADS=$THREADS

run() {  # name filter [binary]
  local name=$1 filter=$2 bin=${3:-$PERF}
  echo "perf: $name" >&2
  "$bin" --benchmark_filter="$filter" --benchmark_out="$OUT/$name.json" --benchmark_out_format=json > "$OUT/$name.txt" 2>&1 \
    || { echo "perf: $name failed:" >&2; tail -n 20 "$OUT/$name.txt" >&2; exit 1; }
}
run sgemm 'BM_SgemmSquare'
run memory 'BM_MemoryCopy'
run pretrain 'BM_PretrainStep'
run sft 'BM_SftStep'
run dpo 'BM_DpoStep'
for b in 1 16 64; do run "sample-$b" "BM_Sample/batch:$b/cache:1/"; done
run sample-recompute 'BM_Sample/batch:64/cache:0/'
run sample-scaling 'BM_SampleScaling'
run judge 'BM_Judge'
run oracle 'BM_OracleCheck' "$CORE"

/usr/bin/python3 - "$OUT" "$THREADS" "$("$BUILD/unigap" --version | tr '\n' ';')" <<'EOF'
import glob, json, os, sys
out, threads, version = sys.argv[1], sys.argv[2], sys.argv[3]
B = {}
for f in sorted(glob.glob(os.path.join(out, "*.json"))):
    for b in json.load(open(f))["benchmarks"]:
        if b.get("run_type", "iteration") == "iteration":
            B[b["name"]] = b
def get(prefix):
    hits = [v for k, v in B.items() if k.startswith(prefix)]
    if not hits: sys.exit(f"perf.sh: no result for {prefix}")
    return hits[0]
sg, mem = get("BM_SgemmSquare/1024"), get("BM_MemoryCopy")
print(f"Machine limits (same run, {threads} threads): sgemm 1024^3 {sg['gflops']:.0f} GFLOP/s; "
      f"memory copy {mem['gbps']:.1f} GB/s (read + write).\n")
print("| workload | rate | model GFLOP/s | sgemm limit at its shapes | of limit | outside matrix products | peak RSS |")
print("|---|---|---|---|---|---|---|")
def row(name, b, rate):
    print(f"| {name} | {rate} | {b['model_gflops']:.0f} | {b['limit_gflops']:.0f} | {100*b['of_limit']:.0f}% "
          f"| {100*b['outside_share']:.0f}% | {b['peak_rss_mb']:.0f} MB |")
p = get("BM_PretrainStep/32"); row("pretrain step (batch 32)", p, f"{1e3*32/p['images_per_s']:.0f} ms/step, {p['images_per_s']:.0f} img/s")
s = get("BM_SftStep/16"); row("SFT step (batch 16)", s, f"{1e3*16/s['samples_per_s']:.0f} ms/step")
d = get("BM_DpoStep/8"); row("DPO step (8 pairs)", d, f"{1e3*8/d['pairs_per_s']:.0f} ms/step")
for bs in (1, 16, 64):
    x = get(f"BM_Sample/batch:{bs}/cache:1/")
    row(f"sampling, KV cache + CFG, batch {bs}", x, f"{x['ms_per_token']:.2f} ms/token, {x['images_per_s']:.1f} img/s")
r = get("BM_Sample/batch:64/cache:0/")
x64 = get("BM_Sample/batch:64/cache:1/")
print(f"| sampling, no cache (recompute), batch 64 | {r['images_per_s']:.1f} img/s | - | - | - | - | {r['peak_rss_mb']:.0f} MB |")
for n in (32, 128, 512):
    j = get(f"BM_Judge/{n}/"); row(f"judging, {n} images", j, f"{j['images_per_s']:.0f} img/s")
print()
print("Sampling at batch 1 / 16 / 64: attention over the KV cache (unigap::decode_attention, counted above as "
      "matrix products) takes " + " / ".join(f"{100*get(f'BM_Sample/batch:{b}/cache:1/')['attention_share']:.0f}%" for b in (1, 16, 64)) +
      " of the time, reading keys and values at " + " / ".join(f"{get(f'BM_Sample/batch:{b}/cache:1/')['kv_read_gbps']:.1f}" for b in (1, 16, 64)) +
      " GB/s; counted as outside instead, the outside share at batch 64 would be "
      f"{100*(x64['outside_share'] + x64['attention_share']):.0f}%.")
print(f"KV cache vs recomputation at batch 64 ({x64['image_tokens']:.0f} image tokens): "
      f"{x64['images_per_s']/r['images_per_s']:.1f}x faster.")
o0, o1 = get("BM_OracleCheck/0"), get("BM_OracleCheck/1")
print(f"Oracle: {o0['items_per_second']:.0f} img/s on clean renders, {o1['items_per_second']:.0f} img/s on noisy+blurred (1 thread).\n")

print("Scaling (sampling, batch 16, KV cache + CFG):\n")
print("| change | image tokens | d_model | ms/token | images/s | model GFLOP/s | outside |")
print("|---|---|---|---|---|---|---|")
base = get("BM_Sample/batch:16/cache:1/")
def srow(name, x):
    print(f"| {name} | {x['image_tokens']:.0f} | {x['d_model']:.0f} | {x['ms_per_token']:.2f} | {x['images_per_s']:.1f} "
          f"| {x['model_gflops']:.0f} | {100*x['outside_share']:.0f}% |")
srow("preset", base)
for k, nm in (("batch:16/cache:1/d:96/", "width / 2"), ("batch:16/cache:1/d:384/", "width x 2"),
              ("batch:16/cache:1/d:0/size:16", "image 16 px"), ("batch:16/cache:1/d:0/size:48", "image 48 px")):
    srow(nm, get("BM_SampleScaling/" + k))
print()
print("Sampling vs batch (time per image should fall, then flatten as the GEMMs fill): " +
      ", ".join(f"batch {b}: {1e3/get(f'BM_Sample/batch:{b}/cache:1/')['images_per_s']:.1f} ms/img" for b in (1, 16, 64)))
print("Judging vs count (linear if ms/img is flat): " +
      ", ".join(f"{n}: {1e3/get(f'BM_Judge/{n}/')['images_per_s']:.2f} ms/img" for n in (32, 128, 512)))
print(f"\n({version.strip(';')})")
EOF
