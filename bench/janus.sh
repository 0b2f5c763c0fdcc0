#!/usr/bin/env bash
# Janus-Pro-1B at full size on this CPU, against the machine's limits measured in the same
# processes (bench/ml/bench_janus.cpp explains the bounds): the table of docs/performance.md.
# Writes a checkpoint with random weights in the official layout first, when CKPT holds none
# (bench/janus_random_checkpoint.py: 4.2 GB, about 30 s). Each measurement runs in its own
# process, so that its peak RSS is its own. JSON lines go to bench/results/janus/, the table to
# stdout. Not part of the tests (about 8 minutes on 2 cores, 17 GB of memory at batch 16); run it
# on an otherwise idle machine.
# PARTS (env, default "inference train") picks the measurements: inference (load, kernels,
# decoding, VQ, judge; about 8 minutes) and train (LoRA SFT steps at batch 1 and 4 with and
# without gradient checkpointing; about 12 minutes; a step that does not fit in memory is killed
# by the kernel and recorded as such).
# Usage: [PARTS=train] bench/janus.sh [BUILD_DIR] [CKPT_DIR]
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
PARTS=${PARTS:-inference train}
export OMP_NUM_THREADS=${THREADS:-$(nproc)}  # libgomp alone would say 1 on this machine
mkdir -p "$OUT"

run() {  # name args...
  local name=$1 rc=0
  shift
  echo "janus.sh: $name" >&2
  "$BENCH" "$CKPT" "$@" > "$OUT/$name.json" 2> "$OUT/$name.log" || rc=$?
  if ((rc == 137)) && [[ $1 == train ]]; then  # SIGKILL: the kernel's OOM killer (no swap here); a result, not a failure
    echo "janus.sh: $name was killed (out of memory)" >&2
    printf '{"mode": "train", "batch": %d, "grad_checkpointing": %s, "killed": "out of memory"}\n' "$2" "$([[ $4 == 1 ]] && echo true || echo false)" > "$OUT/$name.json"
  elif ((rc != 0)); then
    echo "janus.sh: $name failed:" >&2; tail -n 20 "$OUT/$name.log" >&2; exit 1
  fi
}
cat "$CKPT/pytorch_model.bin" > /dev/null  # the file in the page cache: load time is parsing and conversion, not the disk
if [[ " $PARTS " == *" inference "* ]]; then
  rm -f "$OUT"/{load,kernels,decode-1,decode-16,vq,judge}.{json,log}
  run load load
  run kernels kernels
  run decode-1 decode 1 16
  run decode-16 decode 16 6
  run vq vq 2
  run judge judge 4
fi
if [[ " $PARTS " == *" train "* ]]; then
  rm -f "$OUT"/train-*.{json,log}
  run train-1 train 1 2 0
  run train-1-gc train 1 2 1
  run train-4 train 4 1 0
  run train-4-gc train 4 1 1
fi

/usr/bin/python3 - "$OUT" "$("$BUILD/unigap" --version | tr '\n' ';')" <<'EOF'
import json, os, sys
out, version = sys.argv[1], sys.argv[2]
R = {}
for f in sorted(os.listdir(out)):
    if f.endswith(".json"):
        R[f[:-5]] = [json.loads(l) for l in open(os.path.join(out, f)) if l.strip()]
print(f"unigap {version}")
print(f"bench threads: {os.environ['OMP_NUM_THREADS']}")
train = [R[k][0] for k in ("train-1", "train-1-gc", "train-4", "train-4-gc") if k in R]
if train:
    done = [t for t in train if "killed" not in t]
    print(f"LoRA SFT step (rank 16 on the 7 linear layers of every block, {done[0]['adapter_params']:,} parameters; AdamW), "
          f"{done[0]['tokens']:.0f} tokens a row (prompt + 576 image tokens); sgemm measured in the same process:\n")
    print("| batch | gradient checkpointing | s/step (min-max) | TFLOP | sgemm bound | of the bound | peak RSS | of which the model |")
    print("|---|---|---|---|---|---|---|---|")
    for t in train:
        if "killed" in t:
            print(f"| {t['batch']} | {'yes' if t['grad_checkpointing'] else 'no'} | killed: {t['killed']} (24 GB, no swap) | | | | | |")
            continue
        print(f"| {t['batch']} | {'yes' if t['grad_checkpointing'] else 'no'} | {t['s_per_step_median']:.1f} ({t['s_per_step_min']:.1f}-{t['s_per_step_max']:.1f}) "
              f"| {t['tflop_per_step']:.1f} | {t['sgemm_bound_s']:.1f} s at {t['sgemm_gflops']:.0f} GFLOP/s | {t['of_bound']:.2f}x "
              f"| {t['peak_rss_mb']:.0f} MB | {t['model_rss_mb']:.0f} MB |")
    print()
if not all(k in R for k in ("load", "decode-1", "decode-16", "vq", "judge", "kernels")):
    sys.exit(0)
load, d1, d16, vq, judge = R["load"][0], R["decode-1"][0], R["decode-16"][0], R["vq"][0], R["judge"][0]
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
