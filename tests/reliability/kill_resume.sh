#!/usr/bin/env bash
# Crash safety, proven by killing: runs `pretrain` and `improve` (tiny preset) to the
# end once, then again under repeated SIGKILLs, resuming after each with --resume.
#
# Kill points are of two kinds:
#   - mid-write: UNIGAP_KILL_AFTER_BYTES=N makes the process SIGKILL itself inside the
#     atomic write that crosses N bytes, leaving a torn temp file behind (the worst moment);
#   - timed: the test sends SIGKILL after a random delay (usually mid-computation).
# The first kill of each chain comes in the run's first write, before its config exists.
# Offsets and delays come from a fixed seed, so a failure can be replayed.
#
# After each chain: every intermediate exit is 0 (finished) or 137 (killed), never an
# error (an error would mean a torn or stale file was read); the final model.safetensors
# is byte-identical to the uninterrupted run's; no temp file remains; metrics.jsonl
# parses and holds each step exactly once.
#
# Each chain makes KILLS_PER_KIND kills of each kind (default 5: 20 kills over the two
# commands; CTest passes 5, the sanitizer build 2).
# Usage: kill_resume.sh UNIGAP_BINARY [KILLS_PER_KIND]
set -euo pipefail
BIN=$(realpath "$1")
KILLS_PER_KIND=${2:-5}
((KILLS_PER_KIND >= 1)) || { echo "kill_resume: KILLS_PER_KIND must be >= 1" >&2; exit 2; }
MIN_KILLS=$((4 * KILLS_PER_KIND))
WORK=$(mktemp -d /tmp/unigap-kill-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
RANDOM=20261128
KILLS=0
FAILED=0
export OMP_NUM_THREADS=1

fail() { echo "FAIL: $*" >&2; FAILED=1; }

cat > "$WORK/pretrain.json" <<'EOF'
{"vq_steps": 20, "steps": 30, "ckpt_every": 5, "vq_restart_every": 10, "log_every": 1}
EOF
PRETRAIN=("$BIN" --threads 1 pretrain --preset tiny --world v1 --config "$WORK/pretrain.json" -q)
IMPROVE_ARGS=(--method sft --supervision flip:0.5 --prompts 12 -n 4 --epochs 4 --batch 8 --curriculum-epochs 2
              --eval-prompts 6 --eval-k 2 --audit-sample 20 -q)

# Runs one command chain (args: name, then the command without -o/--resume) to completion
# under kills; $1 = name, $2 = kills of each kind wanted, $3 = bytes written by a whole run.
run_chain() {
  local name=$1 want=$2 total_bytes=$3; shift 3
  local out="$WORK/$name" resume=() rc kills=0 timed=0 attempt=0
  while :; do
    attempt=$((attempt + 1))
    if ((attempt > 200)); then fail "$name: did not finish after 200 attempts"; return; fi
    if ((kills < want)); then
      # mid-write kill at a random offset within a whole run's writes; the first one in
      # the run's first write (its config), so that resuming a run that never got going is
      # always tested (a timed kill lands there only on a slow machine)
      local off=1
      ((attempt == 1)) || off=$(( (RANDOM * 32768 + RANDOM) % total_bytes ))
      set +e
      # (the braces keep bash's "Killed" job notice out of the test output)
      { UNIGAP_KILL_AFTER_BYTES=$off "$@" -o "$out" "${resume[@]}" > "$WORK/$name.log" 2>&1; rc=$?; } 2>/dev/null
      set -e
      if ((rc == 137)); then kills=$((kills + 1)); echo "  $name: killed mid-write at byte $off (kill $kills)"; fi
    elif ((timed < want)); then
      local delay_ms=$(( 300 + RANDOM % 2500 ))
      "$@" -o "$out" "${resume[@]}" > "$WORK/$name.log" 2>&1 &
      local pid=$!
      sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
      kill -9 "$pid" 2>/dev/null || true
      set +e
      { wait "$pid"; rc=$?; } 2>/dev/null
      set -e
      if ((rc == 137)); then timed=$((timed + 1)); echo "  $name: killed after ${delay_ms} ms (timed kill $timed)"; fi
    else
      set +e
      "$@" -o "$out" "${resume[@]}" > "$WORK/$name.log" 2>&1
      rc=$?
      set -e
    fi
    if ((rc != 0 && rc != 137)); then
      fail "$name: a run exited with $rc (not 0 or 137):"; cat "$WORK/$name.log" >&2; return
    fi
    if [[ -d "$out" ]]; then resume=(--resume); fi
    if ((rc == 0)) && [[ -f "$out/summary.json" ]]; then
      if ((kills >= want && timed >= want)); then break; fi
      # finished before the kills were used up: start over from scratch (offsets are random)
      rm -rf "$out"; resume=()
    fi
  done
  KILLS=$((KILLS + kills + timed))
  echo "$name: finished after $((kills + timed)) kills"
}

check_run() {
  local name=$1 ref=$2
  local out="$WORK/$name"
  if cmp -s "$ref/model/model.safetensors" "$out/model/model.safetensors"; then
    echo "$name: final model.safetensors is bit-identical to the uninterrupted run"
  else
    fail "$name: final model differs from the uninterrupted run"
  fi
  local stray
  stray=$(find "$out" -name '.*.tmp.*' -o -name '*.tmp' | head -5)
  [[ -z "$stray" ]] || fail "$name: temp files left behind: $stray"
  /usr/bin/python3 - "$ref/metrics.jsonl" "$out/metrics.jsonl" <<'EOF' || fail "$name: metrics.jsonl differs"
import json, sys
def keys(path):
    out = []
    for line in open(path):
        r = json.loads(line)                      # every line must parse
        out.append((r.get("stage"), r.get("kind"), r.get("epoch"), r.get("step")))
    return out
a, b = keys(sys.argv[1]), keys(sys.argv[2])
if a != b:
    print("records differ:", len(a), "vs", len(b), file=sys.stderr); sys.exit(1)
print("  metrics.jsonl: %d records, each step once, same as the uninterrupted run" % len(a))
EOF
}

echo "== uninterrupted runs"
"${PRETRAIN[@]}" -o "$WORK/pretrain-ref"
"$BIN" --threads 1 improve --ckpt "$WORK/pretrain-ref/model" "${IMPROVE_ARGS[@]}" -o "$WORK/improve-ref"
pretrain_bytes=$(( $(du -sb "$WORK/pretrain-ref/checkpoints" | cut -f1) * 10 + $(du -sb "$WORK/pretrain-ref/model" | cut -f1) ))
improve_bytes=$(( $(du -sb "$WORK/improve-ref/checkpoints" | cut -f1) * 4 + $(du -sb "$WORK/improve-ref/model" | cut -f1) ))

echo "== pretrain under kills"
run_chain pretrain "$KILLS_PER_KIND" "$pretrain_bytes" "${PRETRAIN[@]}"
check_run pretrain "$WORK/pretrain-ref"
echo "== improve under kills"
run_chain improve "$KILLS_PER_KIND" "$improve_bytes" "$BIN" --threads 1 improve --ckpt "$WORK/pretrain-ref/model" "${IMPROVE_ARGS[@]}"
check_run improve "$WORK/improve-ref"

echo "kill points: $KILLS (wanted >= $MIN_KILLS)"
((KILLS >= MIN_KILLS)) || fail "only $KILLS kills happened"
((FAILED == 0)) || { echo "kill/resume test FAILED" >&2; exit 1; }
echo "kill/resume test passed"
