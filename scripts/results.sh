#!/usr/bin/env bash
# Reruns the multi-seed self-improvement study of world version 2 (the default world) and writes
# docs/results.md; version 1's study (docs/results-v1.md, models/base-small) is
#   BASE=models/base-small OUT=runs/results ARCHIVE=results/study DOC=docs/results-v1.md CFG_GRID= \
#     ARMS="sft-self sft-replay-early sft-replay-late dpo-self sft-oracle sft-inverted sft-flip gate" bash scripts/results.sh
#
#   bash scripts/results.sh                 # seeds 0 1 2 into runs/results-v2
#   SEEDS="0" bash scripts/results.sh       # one seed
#   OMP_NUM_THREADS=1 SEEDS=0 bash scripts/results.sh & OMP_NUM_THREADS=1 SEEDS=1 bash scripts/results.sh
#                                           # two seeds side by side, one thread each
#   ARMS="sft-self dpo-self" SEEDS=2 bash scripts/results.sh   # only these stages (to share the work
#                                           # between two shells: an arm needs its seed's sft-self)
#   ARMS=none SEEDS="0 1" bash scripts/results.sh   # no stage: only the page ($DOC) and the archive
#
# A seed is about 2 hours of one core with one thread (measured with two seeds side by side on
# 2 cores: sft-self 31 min, each replay arm 17, DPO 8, oracle 9, inverted 22, flip 11, evaluations 2
# each; on a faster VM seed 2 took about two thirds of that); two processes of one thread do more on 2 cores
# than one of two (docs/distributed.md).
#
# Per seed, from the shipped base model: the base's gap, then seven arms, each trained from
# the base on 2,000 train prompts x N = 10 candidates and evaluated against the base on the
# held-out suite (553 prompts x 4 images, win rate on the base's images):
#   sft-self           SFT on self-accepted candidates (Algorithm 1)
#   sft-replay-early   + curriculum replay of the discard pool after epoch 1 of 4 (Algorithm 2)
#   sft-replay-late    + replay after epoch 2 of 4 (the paper's 10 of 20)
#   dpo-self           DPO on (most confidently accepted, most confidently rejected) pairs
#   sft-oracle         SFT on oracle-accepted candidates: the upper bound
#   sft-inverted       corrupted: accept what the model's own judge rejects
#   sft-flip           corrupted: each self verdict flipped with probability 0.5
# All arms but sft-self train on sft-self's round-0 candidates (--pool-from), so that methods
# compare on the same candidates; the oracle, inverted and flip arms relabel them under their
# supervision, which gives the pool that sampling under it would have made (the candidates do
# not depend on who labels them) without sampling 20,000 images again. Then `improve
# --audit-min-precision 0.5` must refuse the inverted pool (its message goes to
# s<seed>/audit-gate.txt; the script fails if it trains).
# Finished stages are kept: rerunning continues an interrupted study. Finally
# `unigap results` aggregates everything into $DOC and $OUT/results.json,
# and the summaries of every finished stage (config.json, summary.json, audit.json,
# metrics.jsonl and the text outputs; no images or models), every evaluation's per-image
# results (results.jsonl, ref_results.jsonl; gzipped) and sft-self's candidate pool
# (gzipped, about 2 MB) are copied into $ARCHIVE, which is committed: on another machine
# a seed found there is restored first, so that its finished stages count in the page
# and are not run again, and an arm added to it trains on the same candidates (its evaluation
# then samples the base's images again, which gives the same images: seeded).
set -euo pipefail
cd "$(dirname "$0")/.."

U="${UNIGAP:-./build/unigap}"
BASE="${BASE:-models/base-small-v2}"
OUT="${OUT:-runs/results-v2}"
SEEDS="${SEEDS:-0 1 2}"
ARMS="${ARMS:-sft-self sft-replay-late dpo-self sft-oracle sft-inverted grpo-self gate}"
DOC="${DOC:-docs/results.md}"
# World version 2's study (docs/metrics.md, "Study-level intervals"):
#   CFG_GRID=1,2,3,4   every model's evaluation guidance chosen on the validation split (eval
#                      --cfg-grid), the arms' win rates on the base's images at the base's guidance;
#                      the arms' tracking chooses its guidance per epoch likewise (--eval-cfg-grid)
#   ARMS=".. sft-all sft-render sft-oracle-matched"  the baselines (unfiltered SFT on every
#                      candidate, continued pretraining on renders) and oracle SFT, each on exactly
#                      sft-self's number of samples per epoch (--sft-samples): matched budgets
#   BASE=... SEEDS=... one pretraining seed's base per invocation; `unigap results` nests the
#                      seeds of one base under it (e.g. BASE=models/base-small-p1 SEEDS="100 101 102")
#   ARMS=".. grpo-self grpo-oracle grpo-inverted"  online RL (improve --method grpo) at sft-self's
#                      budget: 2,000 prompts x G = 10 = the same 20,000 generated images, 16 prompts
#                      per step (125 steps), each sampled batch trained for as many inner epochs as
#                      make sft-self's number of optimizer steps
#   GRPO_LR=1e-5 ARMS="grpo-self-lr1e-5 .."  the GRPO arms at another learning rate than the
#                      declared 1e-4 (SFT's), as arms of their own, to choose it on validation (the
#                      tracking's Gen at the end of the epoch)
#   SFT_LR=3e-5 ARMS="sft-self-lr3e-5"  self-SFT at another learning rate than the declared 1e-4, an
#                      arm of its own on sft-self's candidates, to choose SFT's rate on validation by
#                      the rule that chose GRPO's (docs/metrics.md); the other SFT arms run at the
#                      chosen rate (a rate no SFT arm but self-SFT ran at leaves their claims unread)
#   ARMS=".. e4-render e4-all"  the mechanism study's E4 (docs/mechanism.md): renders of train counting and
#                      position prompts against unfiltered own samples of them, at sft-self's budget
CFG_GRID="${CFG_GRID-1,2,3,4}"  # the default; CFG_GRID= (empty) for version 1, which has no validation split
GRPO_LR="${GRPO_LR:-}"
SFT_LR="${SFT_LR:-}"
# The arms whose models `dynamics --held-out eval` compares with the base after their evaluation
# (the paper's mechanism on images no arm trained on: docs/dynamics.md); none: HELDOUT_ARMS=none.
HELDOUT_ARMS="${HELDOUT_ARMS:-sft-self sft-replay-late dpo-self sft-oracle sft-inverted sft-render sft-all grpo-self grpo-oracle grpo-inverted e4-render e4-all}"
[ -n "$GRPO_LR" ] && HELDOUT_ARMS+=" grpo-self-lr$GRPO_LR grpo-oracle-lr$GRPO_LR grpo-inverted-lr$GRPO_LR"
[ -n "$SFT_LR" ] && HELDOUT_ARMS+=" sft-self-lr$SFT_LR"
ARCHIVE="${ARCHIVE:-results/study-v2}"
# The budget (docs/improve.md explains it, measured on version 1): 4 SFT epochs, since held-out Gen of oracle SFT at
# this data size peaked by epoch 4 and fell back to the base by epoch 20; DPO 6 epochs
# (the paper's 30:20 ratio).
PROMPTS=2000
CANDIDATES=10  # N per prompt; an arm may set its own (CANDIDATES=4 arm ...)
TRAIN=(--prompts "$PROMPTS" --eval-every 1 --eval-prompts 120 --eval-k 2)
# With a guidance grid, each arm's tracking chooses its guidance on validation at every epoch too
# (fine-tuning moves the best guidance: docs/results.md).
[ -n "$CFG_GRID" ] && TRAIN+=(--eval-cfg-grid "$CFG_GRID")
SFT=(--epochs 4)
DPO=(--method dpo --epochs 6 --nll-weight 1)

[ -x "$U" ] || { echo "results: $U not found; build first (bash scripts/build.sh)" >&2; exit 1; }
"$U" --version

wanted() { [[ " $ARMS " == *" $1 "* ]]; }

# Seeds run on another machine come back from the archive.
for s in $SEEDS; do
  if [ -d "$ARCHIVE/s$s" ] && [ ! -d "$OUT/s$s" ]; then
    echo "[results] seed $s: restored from $ARCHIVE/s$s"
    mkdir -p "$OUT"
    rm -rf "$OUT/s$s.tmp"
    cp -r "$ARCHIVE/s$s" "$OUT/s$s.tmp"  # whole, then renamed: an interrupted restore is redone
    if [ -f "$OUT/s$s.tmp/sft-self/pool.jsonl.gz" ]; then
      gunzip "$OUT/s$s.tmp/sft-self/pool.jsonl.gz"
    fi
    # Per-image results (what the study's intervals resample), archived gzipped.
    find "$OUT/s$s.tmp" \( -name '*results.jsonl.gz' -o -name probes.jsonl.gz \) -exec gunzip {} +
    mv "$OUT/s$s.tmp" "$OUT/s$s"
  fi
done

for s in $SEEDS; do
  D="$OUT/s$s"
  mkdir -p "$D"
  evaluate() {  # evaluate NAME CKPT [REF]
    local name=$1 ckpt=$2 ref=${3:-}
    if [ -f "$D/eval-$name/summary.json" ]; then
      # Guidance chosen by the first look alone (evaluations before the two-look rule of
      # docs/metrics.md, 2026-12-07): evaluated again where the model is here; the old
      # evaluation moves to superseded/, which the page does not read.
      [ -z "$CFG_GRID" ] || [ ! -f "$ckpt/config.json" ] && return 0
      python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])).get("guidance", {}).get("rule") != "two-stage")' \
        "$D/eval-$name/summary.json" && return 0
      echo "[results] seed $s: eval $name chose its guidance by one look; evaluated again (the old one: $D/superseded/eval-$name)"
      mkdir -p "$D/superseded"
      rm -rf "$D/superseded/eval-$name"
      mv "$D/eval-$name" "$D/superseded/eval-$name"
      [ -f "$D/eval-$name.txt" ] && mv "$D/eval-$name.txt" "$D/superseded/eval-$name.txt"
    fi
    local resume=()
    [ -f "$D/eval-$name/config.json" ] && resume=(--resume)
    echo "[results] seed $s: eval $name"
    # The base's images of this seed are those of eval-base: read, not sampled again (a
    # restored seed has none: they are sampled again, the same images).
    local from=()
    [ -n "$ref" ] && [ -d "$D/eval-base/images" ] && from=(--ref-images "$D/eval-base")
    "$U" eval --ckpt "$ckpt" ${ref:+--ref "$ref"} "${from[@]}" --seed "$s" -k 4 -q --out "$D/eval-$name" \
      ${CFG_GRID:+--cfg-grid "$CFG_GRID"} "${resume[@]}" > "$D/eval-$name.txt"
  }
  arm() {  # arm NAME [improve options...]
    local name=$1
    shift
    wanted "$name" || return 0
    if [ ! -f "$D/$name/summary.json" ]; then
      local args=("$@") i
      for ((i = 0; i + 1 < ${#args[@]}; i++)); do
        if [ "${args[i]}" = --pool-from ] && [ ! -f "${args[i + 1]}/pool.jsonl" ]; then
          echo "[results] seed $s: ${args[i + 1]} has no pool.jsonl, which $name trains on" >&2
          exit 1
        fi
      done
      local resume=()
      [ -f "$D/$name/config.json" ] && resume=(--resume)
      # Its progress (step, rate, ETA: a line every 5 s) and warnings go to $D/$name.log, whose
      # last lines are shown if it fails.
      echo "[results] seed $s: improve $name ($*); progress: tail -f $D/$name.log"
      if ! "$U" improve --ckpt "$BASE" -o "$D/$name" --seed "$s" "${TRAIN[@]}" -n "$CANDIDATES" "$@" "${resume[@]}" \
        > "$D/$name.txt" 2> "$D/$name.log"; then
        echo "[results] seed $s: improve $name failed; the end of $D/$name.log:" >&2
        tail -n 20 "$D/$name.log" >&2
        exit 1
      fi
    fi
    evaluate "$name" "$D/$name/model" "$BASE"
    held_out "$name"
  }
  held_out() {  # held_out NAME: the arm's model on the base's images of eval prompts
    local name=$1
    [[ " $HELDOUT_ARMS " == *" $name "* ]] || return 0
    [ -f "$D/heldout-$name/summary.json" ] && return 0
    rm -rf "$D/heldout-$name"  # minutes long, no resume: an interrupted one starts again
    # At the base's evaluation guidance (chosen on validation), as its images were sampled.
    local cfg
    cfg=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("guidance", {}).get("chosen", 2))' "$D/eval-base/config.json")
    local pool=()
    [ -f "$D/$name/pool.jsonl" ] && pool=(--pool "$D/$name/pool.jsonl")
    echo "[results] seed $s: held-out dynamics of $name"
    "$U" dynamics --ckpt "$BASE" --improved "$D/$name/model" "${pool[@]}" --held-out eval --held-out-prompts 200 --held-out-k 2 \
      --cfg "$cfg" --seed "$s" -q -o "$D/heldout-$name" > "$D/heldout-$name.txt"
  }
  evaluate base "$BASE"  # every arm's evaluation reads its images
  arm sft-self "${SFT[@]}" --supervision self
  # Another learning rate (SFT_LR, for its choice on validation), on the same candidates.
  [ -n "$SFT_LR" ] && arm "sft-self-lr$SFT_LR" "${SFT[@]}" --supervision self --pool-from "$D/sft-self" --lr "$SFT_LR"
  arm sft-replay-early "${SFT[@]}" --supervision self --curriculum-epochs 1 --pool-from "$D/sft-self"
  arm sft-replay-late "${SFT[@]}" --supervision self --curriculum-epochs 2 --pool-from "$D/sft-self"
  arm dpo-self "${DPO[@]}" --supervision self --pool-from "$D/sft-self"
  arm sft-oracle "${SFT[@]}" --supervision oracle --pool-from "$D/sft-self"
  arm sft-inverted "${SFT[@]}" --supervision inverted --pool-from "$D/sft-self"
  arm sft-flip "${SFT[@]}" --supervision flip:0.5 --pool-from "$D/sft-self"
  # Baselines no judge selects: unfiltered SFT on every candidate, and continued pretraining on
  # ground-truth renders of the same prompts; with oracle SFT, at sft-self's budget.
  budget=()
  if wanted sft-all || wanted sft-render || wanted sft-oracle-matched || wanted e4-render || wanted e4-all; then
    [ -f "$D/sft-self/summary.json" ] || { echo "[results] seed $s: the matched arms need sft-self first" >&2; exit 1; }
    budget=(--sft-samples "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sft_samples"])' "$D/sft-self/summary.json")")
  fi
  arm sft-all "${SFT[@]}" --supervision all --pool-from "$D/sft-self" "${budget[@]}"
  arm sft-render "${SFT[@]}" --supervision render "${budget[@]}"
  arm sft-oracle-matched "${SFT[@]}" --supervision oracle --pool-from "$D/sft-self" "${budget[@]}"
  # E4 of the mechanism study (docs/mechanism.md): clean data aimed at the judge's blind spot.
  # Generation-only SFT on ground-truth renders of train counting and position prompts (every
  # counting prompt and as many position prompts, seeded), against unfiltered SFT on the
  # model's own samples of the same prompts (-n 4), both at sft-self's budget; their held-out
  # dynamics read the change on eval counting and position false positives.
  if wanted e4-render || wanted e4-all; then
    if [ ! -f "$D/e4-prompts.jsonl" ]; then
      python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))["world"], open(sys.argv[2], "w"))' \
        "$BASE/config.json" "$D/e4-world.json"
      "$U" world sample --world "$D/e4-world.json" --split train --all -q -o "$D/e4-train.jsonl"
      python3 - "$D/e4-train.jsonl" "$s" > "$D/e4-prompts.jsonl.tmp" <<'PY'
import json, random, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
counting = [r for r in rows if r["tag"] == "counting"]
position = [r for r in rows if r["tag"] == "position"]
random.Random(int(sys.argv[2])).shuffle(position)
for r in counting + position[: len(counting)]:
    print(json.dumps(r))
PY
      mv "$D/e4-prompts.jsonl.tmp" "$D/e4-prompts.jsonl"
      rm -f "$D/e4-train.jsonl"
    fi
  fi
  CANDIDATES=4 arm e4-render "${SFT[@]}" --supervision render --train-suite "$D/e4-prompts.jsonl" "${budget[@]}"
  CANDIDATES=4 arm e4-all "${SFT[@]}" --supervision all --train-suite "$D/e4-prompts.jsonl" "${budget[@]}"
  # Online RL at sft-self's budget in images and optimizer steps.
  GRPO_BATCH=16  # prompts per step: PROMPTS / GRPO_BATCH sampled batches in the one epoch
  inner=()
  lr_suffix=""
  [ -n "$GRPO_LR" ] && lr_suffix="-lr$GRPO_LR"
  if wanted "grpo-self$lr_suffix" || wanted "grpo-oracle$lr_suffix" || wanted "grpo-inverted$lr_suffix"; then
    [ -f "$D/sft-self/summary.json" ] || { echo "[results] seed $s: the GRPO arms need sft-self first" >&2; exit 1; }
    inner=(--inner-epochs "$(python3 -c 'import json,sys; print(max(1, round(json.load(open(sys.argv[1]))["optimizer_steps"] / int(sys.argv[2]))))' \
      "$D/sft-self/summary.json" "$(( (PROMPTS + GRPO_BATCH - 1) / GRPO_BATCH ))")")
  fi
  GRPO=(--method grpo --group 10 --batch "$GRPO_BATCH" --epochs 1)
  # Another learning rate (GRPO_LR, for its choice on validation) makes arms of their own:
  # grpo-self-lr<LR>, ... beside the declared lr's.
  [ -n "$GRPO_LR" ] && GRPO+=(--lr "$GRPO_LR")
  arm "grpo-self$lr_suffix" "${GRPO[@]}" --supervision self "${inner[@]}"
  arm "grpo-oracle$lr_suffix" "${GRPO[@]}" --supervision oracle "${inner[@]}"
  arm "grpo-inverted$lr_suffix" "${GRPO[@]}" --supervision inverted "${inner[@]}"
  # The data-quality gate must refuse the inverted pool before any training step.
  if wanted gate && [ ! -f "$D/audit-gate.txt" ]; then
    rm -rf "$D/gate"
    set +e
    msg=$("$U" improve --ckpt "$BASE" -o "$D/gate" --seed "$s" "${TRAIN[@]}" -q -n "$CANDIDATES" "${SFT[@]}" --supervision inverted \
      --pool-from "$D/sft-inverted" --audit-min-precision 0.5 2>&1 >/dev/null)
    rc=$?
    set -e
    if [ "$rc" -eq 0 ]; then
      echo "[results] seed $s: --audit-min-precision 0.5 did not refuse the inverted pool" >&2
      exit 1
    fi
    refusal=$(printf '%s\n' "$msg" | grep 'refusing' | head -n 1 || true)
    if [ -z "$refusal" ]; then  # it failed, but not at the gate
      printf '[results] seed %s: the audit-gate run failed for another reason:\n%s\n' "$s" "$msg" >&2
      exit 1
    fi
    printf 'exit %d: %s\n' "$rc" "$refusal" > "$D/audit-gate.txt.tmp"
    mv "$D/audit-gate.txt.tmp" "$D/audit-gate.txt"
    rm -rf "$D/gate"
  fi
done

"$U" results --runs "$OUT" --out "$DOC"

# The archive: the summaries of every finished stage of these seeds. An unfinished stage (its
# folder has no summary.json) stays out: restored elsewhere, it would be resumed from nothing.
finished() {  # finished SEED_DIR PATH: PATH (./<stage>/... or ./<stage>.txt) belongs to a finished stage or to none
  local top=${2#./}
  top=${top%%/*}
  local stage=${top%.txt}
  [ ! -d "$1/$stage" ] || [ -f "$1/$stage/summary.json" ]
}
for s in $SEEDS; do
  (cd "$OUT/s$s" && find . -type f \( -name config.json -o -name summary.json -o -name audit.json -o -name metrics.jsonl \
    -o -name '*.txt' \) -not -path '*/images/*' -not -path '*/ref_images/*' -not -path '*/model/*' -not -path '*/checkpoints/*') |
    while read -r f; do
      finished "$OUT/s$s" "$f" || continue
      mkdir -p "$(dirname "$ARCHIVE/s$s/$f")"
      cp "$OUT/s$s/$f" "$ARCHIVE/s$s/$f.tmp"
      mv "$ARCHIVE/s$s/$f.tmp" "$ARCHIVE/s$s/$f"
    done
  # Per-image results of every evaluation (results.jsonl: each image's prompt group, own score
  # and verdict, the oracle's verdict; ref_results.jsonl: both judges on the base's images;
  # probes.jsonl: each held-out probe's judges before and after), gzipped: a later analysis of
  # the study needs no re-run.
  (cd "$OUT/s$s" && find . -maxdepth 2 -type f \( -name results.jsonl -o -name ref_results.jsonl -o -name probes.jsonl \)) |
    while read -r f; do
      finished "$OUT/s$s" "$f" || continue
      [ -f "$ARCHIVE/s$s/$f.gz" ] && [ "$ARCHIVE/s$s/$f.gz" -nt "$OUT/s$s/$f" ] && continue
      mkdir -p "$(dirname "$ARCHIVE/s$s/$f")"
      gzip -9 -c "$OUT/s$s/$f" > "$ARCHIVE/s$s/$f.gz.tmp"
      mv "$ARCHIVE/s$s/$f.gz.tmp" "$ARCHIVE/s$s/$f.gz"
    done
  if [ -f "$OUT/s$s/sft-self/pool.jsonl" ] && [ ! -f "$ARCHIVE/s$s/sft-self/pool.jsonl.gz" ]; then
    gzip -9 -c "$OUT/s$s/sft-self/pool.jsonl" > "$ARCHIVE/s$s/sft-self/pool.jsonl.gz.tmp"
    mv "$ARCHIVE/s$s/sft-self/pool.jsonl.gz.tmp" "$ARCHIVE/s$s/sft-self/pool.jsonl.gz"
  fi
done
echo "[results] summaries archived in $ARCHIVE (commit them with $DOC)"
