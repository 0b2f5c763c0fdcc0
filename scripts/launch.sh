#!/usr/bin/env bash
# Starts N ranks of a unigap command on this machine, setting what torchrun would:
# RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT. (Debian's torchrun 1.13 fails
# under Python 3.11 before it starts anything; elsewhere `torchrun --no_python` works.)
#
#   scripts/launch.sh 2 build/unigap --threads 1 pretrain --preset small -o runs/base-dp
#
# Several machines: run it on each with NNODES, NODE_RANK and MASTER_ADDR (an address
# of node 0 the others can reach) set the same way, e.g. on node 1 of 2:
#   NNODES=2 NODE_RANK=1 MASTER_ADDR=10.0.0.1 scripts/launch.sh 8 build/unigap ...
# The run folder must be on a file system every node reads (rank 0 alone writes).
#
# Rank 0 prints to the terminal; every rank's output also goes to $LOG_DIR/rank-R.log
# (default: a new folder under /tmp). The exit status is the first non-zero one; when a
# rank fails the others end on their own (their next collective fails), and any still
# running after --dist-timeout-like grace (LAUNCH_GRACE_S, default 60) are killed.
set -uo pipefail
if (($# < 2)); then
  echo "usage: $0 NPROC_PER_NODE COMMAND [ARGS...]" >&2
  exit 2
fi
NPROC=$1
shift
[[ $NPROC =~ ^[1-9][0-9]*$ ]] || { echo "launch.sh: NPROC_PER_NODE must be a positive integer, got '$NPROC'" >&2; exit 2; }
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
export MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
export MASTER_PORT=${MASTER_PORT:-29500}
export WORLD_SIZE=$((NPROC * NNODES))
GRACE=${LAUNCH_GRACE_S:-60}
LOG_DIR=${LOG_DIR:-$(mktemp -d /tmp/unigap-launch-XXXXXX)}
mkdir -p "$LOG_DIR"

pids=()
for ((l = 0; l < NPROC; l++)); do
  r=$((NODE_RANK * NPROC + l))
  if ((r == 0)); then
    RANK=$r LOCAL_RANK=$l "$@" > >(tee "$LOG_DIR/rank-$r.log") 2>&1 &
  else
    RANK=$r LOCAL_RANK=$l "$@" > "$LOG_DIR/rank-$r.log" 2>&1 &
  fi
  pids+=($!)
done
trap 'kill -TERM "${pids[@]}" 2>/dev/null' INT TERM

status=0
remaining=${#pids[@]}
declare -A done_pid
while ((remaining > 0)); do
  finished=
  left=()
  for p in "${pids[@]}"; do [[ -z ${done_pid[$p]:-} ]] && left+=("$p"); done
  wait -n -p finished "${left[@]}"
  rc=$?
  [[ -z $finished || -n ${done_pid[$finished]:-} ]] && continue
  done_pid[$finished]=1
  remaining=$((remaining - 1))
  if ((rc != 0 && status == 0)); then
    status=$rc
    echo "launch.sh: a rank exited with status $rc; the others should fail at their next collective (logs: $LOG_DIR)" >&2
    # Whoever is still running after the grace period is stuck: end it.
    ( sleep "$GRACE"; kill -KILL "${pids[@]}" 2>/dev/null ) &
    killer=$!
  fi
done
[[ -n ${killer:-} ]] && kill "$killer" 2>/dev/null
exit $status
