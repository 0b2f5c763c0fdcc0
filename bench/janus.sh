#!/usr/bin/env bash
# Janus-Pro-1B at full size on this CPU, against the machine's limits measured in the same
# processes (bench/ml/bench_janus.cpp explains the bounds): the table of docs/performance.md.
# Writes a checkpoint with random weights in the official layout first, when CKPT holds none
# (bench/janus_random_checkpoint.py: 4.2 GB, about 30 s). Each measurement runs in its own
# process, so that its peak RSS is its own. JSON lines go to bench/results/janus/, the table to
# stdout. Not part of the tests (about 8 minutes on 2 cores, 17 GB of memory at batch 16); run it
# on an otherwise idle machine.
# Usage: bench/janus.sh [BUILD_DIR] [CKPT_DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(realpath "${1:-$ROOT/build}")
CKPT=${2:-${TMPDIR:-/tmp}/unigap-janus-pro-1b-random}
BENCH=$BUILD/bench/unigap_bench_janus
[[ -x $BENCH ]] || { echo "janus.sh: $BENCH not built (cmake --build $BUILD --target unigap_bench_janus)" >&2; exit 1; }
if [[ ! -f $CKPT/pytorch_model.bin ]]; then
  echo "janus.sh: writing a random Janus-Pro-1B checkpoint to $CKPT" >&2
  /usr/bin/python3 "$ROOT/bench/janus_random_checkpoint.py" "$CKPT"
fi
OUT=$ROOT/bench/results/janus
rm -rf "$OUT"
mkdir -p "$OUT"

run() {  # name args...
  local name=$1
  shift
  echo "janus.sh: $name" >&2
  "$BENCH" "$CKPT" "$@" > "$OUT/$name.json" 2> "$OUT/$name.log" || { echo "janus.sh: $name failed:" >&2; tail -n 20 "$OUT/$name.log" >&2; exit 1; }
}
cat "$CKPT/pytorch_model.bin" > /dev/null  # the file in the page cache: load time is parsing and conversion, not the disk
run load load
run kernels kernels
run decode-1 decode 1 16
run decode-16 decode 16 6
run vq vq 2
run judge judge 4

/usr/bin/python3 - "$OUT" "$("$BUILD/unigap" --version | tr '\n' ';')" <<'EOF'
import json, os, sys
out, version = sys.argv[1], sys.argv[2]
R = {}
for f in sorted(os.listdir(out)):
    if f.endswith(".json"):
        R[f[:-5]] = [json.loads(l) for l in open(os.path.join(out, f)) if l.strip()]
load, d1, d16, vq, judge = R["load"][0], R["decode-1"][0], R["decode-16"][0], R["vq"][0], R["judge"][0]
print(f"unigap {version}")
print(f"Machine limits (same processes): memory read {d1['memory_read_gbps']:.1f} GB/s (copy, read + write, "
      f"{d1['memory_copy_gbps']:.1f}); sgemm 2048^3 {d1['sgemm_gflops']:.0f} GFLOP/s.\n")
print(f"Load: {load['seconds']:.1f} s from the page cache; peak RSS {load['peak_rss_mb']:.0f} MB for a "
      f"{load['model_mb']:.0f} MB float32 model ({100 * (load['rss_over_model'] - 1):+.1f}%).\n")
print("| decode step (CFG rows) | context | ms/step (median, min-max) | of which linear layers | read: weights + KV cache | memory bound | GFLOP | sgemm bound | of the larger bound | peak RSS |")
print("|---|---|---|---|---|---|---|---|---|---|")
for d in (d1, d16):
    print(f"| batch {d['batch']} ({d['rows']:.0f} rows) | {d['context']:.0f} | {d['ms_per_step_median']:.0f} ({d['ms_per_step_min']:.0f}-{d['ms_per_step_max']:.0f}) "
          f"| {d['linear_layers_ms']:.0f} ms | {d['weight_mb_per_step']:.0f} + {d['kv_mb_per_step']:.0f} MB | {d['memory_bound_ms']:.0f} ms "
          f"| {d['gflop_per_step']:.1f} | {d['sgemm_bound_ms']:.0f} ms | {d['of_bound']:.2f}x | {d['peak_rss_mb']:.0f} MB |")
print()
few = [k for k in R["kernels"] if "few_rows_gbps" in k]
many = [k for k in R["kernels"] if "few_rows_gbps" not in k]
print("| linear layer (5632 x 2048), weights streamed | " + " | ".join(f"{k['rows']} rows" for k in few) + " |")
print("|---|" + "---|" * len(few))
for key, name in (("sgemm_gbps", "sgemm (F::linear)"), ("sgemv_per_row_gbps", "sgemv, once per row"), ("few_rows_gbps", "few_rows_linear")):
    print(f"| {name} | " + " | ".join(f"{k[key]:.1f} GB/s" for k in few) + " |")
print("\nMore rows, sgemm only (GB/s of weights; GFLOP/s = GB/s x rows / 2): " +
      ", ".join(f"{k['rows']} rows {k['sgemm_gbps']:.1f} as x W^T, {k['sgemm_w_xt_gbps']:.1f} as W x^T" for k in many) + ".")
print()
print(f"VQ decode: {vq['seconds_per_image']:.1f} s/image with oneDNN's convolutions ({vq['seconds_per_image_aten_conv']:.1f} with ATen's). "
      f"Judge: {judge['images_per_s']:.3f} images/s ({1 / judge['images_per_s']:.1f} s/image).")
# unigap eval on GenEval (553 prompts x 4 images) at batch 16, from the figures above; the
# prompt's prefill is scaled from the benchmark's padded prompt to a typical 24 tokens.
images, tokens = 553 * 4, 576
per_batch = tokens * d16["ms_per_step_median"] / 1e3 + d16["prefill_s"] * 24 / d16["context"] + 16 * vq["seconds_per_image"]
gen_h = images / 16 * per_batch / 3600
judge_h = images / judge["images_per_s"] / 3600
print(f"Estimated `unigap eval` of Janus-Pro-1B on GenEval (553 x 4 images, batch 16, 2 cores): sampling {gen_h:.1f} h "
      f"({per_batch / 16:.0f} s/image), self-judging {judge_h:.1f} h; with an external ckpt judge of the same size, +{judge_h:.1f} h.")
EOF
