#!/usr/bin/env bash
# Data-parallel scaling on this machine, `small` preset: a pretraining step (unified
# stage, global batch 32), candidate sampling (KV cache + CFG) and judging, on
#   1 rank x 1 thread, 1 rank x 2 threads, 2 ranks x 1 thread (c10d/Gloo, loopback).
# Prints a markdown table and writes bench/results/dist_scaling.json.
# Not a test: figures depend on the machine and on whatever else runs; run it alone.
# Usage: bench/dist_scaling.sh [UNIGAP_BINARY] [STEPS] [PROMPTS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$(realpath "${1:-$ROOT/build/unigap}")
STEPS=${2:-40}
PROMPTS=${3:-48}
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/unigap-dist-bench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
OUT=$ROOT/bench/results
mkdir -p "$OUT"
export MASTER_ADDR=127.0.0.1
PORT=$((29800 + ($$ % 1000)))

# run NAME RANKS THREADS ARGS...: one configuration, ranks launched as torchrun would.
run() {
  local name=$1 ranks=$2 threads=$3; shift 3
  PORT=$((PORT + 1))
  local pids=() r
  for ((r = 0; r < ranks; r++)); do
    if ((ranks > 1)); then
      WORLD_SIZE=$ranks RANK=$r MASTER_PORT=$PORT OMP_NUM_THREADS=$threads "$BIN" --threads "$threads" "$@" > "$WORK/$name.r$r.log" 2>&1 &
    else
      OMP_NUM_THREADS=$threads "$BIN" --threads "$threads" "$@" > "$WORK/$name.r$r.log" 2>&1 &
    fi
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || { echo "bench: $name failed:" >&2; tail -n 5 "$WORK/$name".r*.log >&2; exit 1; }; done
}

cat > "$WORK/train.json" <<EOF
{"vq_steps": 0, "steps": $STEPS, "warmup": 5, "ckpt_every": 100000, "log_every": 1}
EOF
CONFIGS=("1 1" "1 2" "2 1")
for c in "${CONFIGS[@]}"; do
  set -- $c
  echo "bench: pretraining step, $1 rank(s) x $2 thread(s), $STEPS steps" >&2
  run "train-$1x$2" "$1" "$2" pretrain --preset small --config "$WORK/train.json" -q -o "$WORK/train-$1x$2"
done
# A small-preset checkpoint to sample from (weights do not change the cost).
for c in "${CONFIGS[@]}"; do
  set -- $c
  echo "bench: sampling + judging, $1 rank(s) x $2 thread(s), $PROMPTS prompts x 4" >&2
  run "eval-$1x$2" "$1" "$2" eval --ckpt "$WORK/train-1x1/model" --prompts "$PROMPTS" -k 4 --batch 64 -q -o "$WORK/eval-$1x$2"
done

$PY - "$WORK" "$OUT/dist_scaling.json" "$STEPS" "$PROMPTS" "$(nproc)" <<'EOF'
import json, sys, statistics
work, out, steps, prompts, cores = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rows = []
for ranks, threads in ((1, 1), (1, 2), (2, 1)):
    tag = f"{ranks}x{threads}"
    recs = [json.loads(l) for l in open(f"{work}/train-{tag}/metrics.jsonl")]
    uni = [r for r in recs if r.get("stage") == "unified"]
    # images_per_s is the stage's running mean; take the last (all steps) and skip nothing.
    step_s = 32 / uni[-1]["images_per_s"]
    ar = [r["dist/allreduce_ms"] for r in uni[2:] if "dist/allreduce_ms" in r]
    speed = json.load(open(f"{work}/eval-{tag}/summary.json"))["per_seed"][0]["speed"]
    rows.append({"ranks": ranks, "threads_per_rank": threads, "train_step_s": step_s,
                 "allreduce_ms_per_step": statistics.median(ar) if ar else 0.0,
                 "sample_images_per_s": speed["generate_images_per_s"], "judge_images_per_s": speed["judge_images_per_s"]})
base = rows[0]
print(f"| ranks x threads | train step (batch 32) | speed-up | allreduce / step | sampling img/s | speed-up | judging img/s | speed-up |")
print(f"|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['ranks']} x {r['threads_per_rank']} | {r['train_step_s']*1e3:.0f} ms | {base['train_step_s']/r['train_step_s']:.2f}x "
          f"| {r['allreduce_ms_per_step']:.1f} ms | {r['sample_images_per_s']:.1f} | {r['sample_images_per_s']/base['sample_images_per_s']:.2f}x "
          f"| {r['judge_images_per_s']:.0f} | {r['judge_images_per_s']/base['judge_images_per_s']:.2f}x |")
import os
with open(out + ".tmp", "w") as f:  # temp + rename: a reader never sees half a file
    json.dump({"steps": steps, "prompts": prompts, "samples_per_prompt": 4, "cores": cores, "rows": rows}, f, indent=1)
os.replace(out + ".tmp", out)
print(f"\n(small preset, {steps} steps, {prompts} prompts x 4 samples, {cores} cores; written to {out})")
EOF
