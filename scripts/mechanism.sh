#!/usr/bin/env bash
# The mechanism study's E2 (docs/mechanism.md): bases that differ from the reference base only
# in what generation and understanding share, then the study's arms on each, with their
# held-out dynamics (scripts/results.sh runs `dynamics --held-out` after every arm).
#
#   bash scripts/mechanism.sh                          # both variants, fine-tuning seeds 0 1 2
#   VARIANTS=und-vq SEEDS=0 bash scripts/mechanism.sh  # one variant, one seed
#
# Variants (the reference: understanding reads pixels through its own encoder, image first):
#   und-vq        understanding reads the shared VQ codes that generation writes (Show-o, VILA-U)
#   prompt-first  understanding reads the prompt before the image, generation's order
# Each variant base is pretrained with the reference's recipe (its steps, seed, hard negatives,
# tag weights and "no" weight, read from REF/config.json) on the reference's own VQ tokenizer
# (--vq-from REF), so that only the sharing differs: about an hour each on 2 cores. Finished
# stages are kept: rerunning continues (the pretraining with --resume).
set -euo pipefail
cd "$(dirname "$0")/.."

U="${UNIGAP:-./build/unigap}"
REF="${REF:-models/base-small-v2}"
OUT="${OUT:-runs/mechanism}"
VARIANTS="${VARIANTS:-und-vq prompt-first}"
SEEDS="${SEEDS:-0 1 2}"
ARMS="${ARMS:-sft-self sft-oracle sft-inverted}"
ARCHIVE_ROOT="${ARCHIVE_ROOT:-results/mechanism}"
STEPS="${STEPS:-}"  # the reference's when empty; fewer only for a smoke run
REF_RUNS="${REF_RUNS:-runs/results-v2}"  # the reference base's own study (scripts/results.sh), shown beside the variants
PAGE="${PAGE:-docs/mechanism-results.md}"

[ -x "$U" ] || { echo "mechanism: $U not found; build first (bash scripts/build.sh)" >&2; exit 1; }
[ -f "$REF/config.json" ] || { echo "mechanism: $REF/config.json not found (REF: the reference base)" >&2; exit 1; }
mkdir -p "$OUT"
for v in $VARIANTS; do
  case "$v" in
    und-vq) model='{"und_input": "vq"}' ;;
    prompt-first) model='{"und_order": "prompt_first"}' ;;
    *) echo "mechanism: unknown variant '$v' (und-vq, prompt-first)" >&2; exit 1 ;;
  esac
  B="$OUT/base-$v"
  if [ ! -f "$B/model/config.json" ]; then
    # The reference's recipe with the variant's model fields.
    python3 - "$REF/config.json" "$model" "$STEPS" > "$OUT/pretrain-$v.json.tmp" <<'PY'
import json, sys
ref = json.load(open(sys.argv[1]))
p = ref["pretrain"]
if ref.get("world", {}).get("version") != 2:
    sys.exit(f"mechanism: {sys.argv[1]} is not a version 2 base")
recipe = {k: p[k] for k in ("hard_negative_share", "negative_weight", "tag_weights") if k in p}
recipe["model"] = json.loads(sys.argv[2])
print(json.dumps({"recipe": recipe, "preset": p["preset"], "seed": p["seed"], "steps": int(sys.argv[3] or p["steps"])}))
PY
    mv "$OUT/pretrain-$v.json.tmp" "$OUT/pretrain-$v.json"
    read -r preset seed steps < <(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["preset"], j["seed"], j["steps"])' "$OUT/pretrain-$v.json")
    python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))["recipe"], open(sys.argv[2], "w"))' "$OUT/pretrain-$v.json" "$OUT/recipe-$v.json"
    resume=()
    [ -f "$B/config.json" ] && resume=(--resume)
    echo "[mechanism] $v: pretrain ($preset, seed $seed, $steps steps, $(cat "$OUT/recipe-$v.json"))"
    "$U" pretrain --preset "$preset" --world v2 --seed "$seed" --steps "$steps" --config "$OUT/recipe-$v.json" --vq-from "$REF" \
      "${resume[@]}" -o "$B" > "$OUT/pretrain-$v.txt"
  fi
  # The arms and their held-out dynamics; guidance chosen per model on validation.
  echo "[mechanism] $v: arms ($ARMS), seeds $SEEDS"
  runs="$OUT/$v"
  UNIGAP="$U" BASE="$B/model" OUT="$runs" SEEDS="$SEEDS" ARMS="$ARMS" CFG_GRID=1,2,3,4 DOC="$runs/results.md" \
    ARCHIVE="$ARCHIVE_ROOT/$v" bash scripts/results.sh
done
# The variants side by side, with the reference base's study (scripts/results.sh's runs): the
# alignment at the start, the co-improvement per arm, and their correlation across variants and seeds.
pages=()
[ -d "$REF_RUNS" ] && pages+=(--variant "reference=$REF_RUNS")
for v in $VARIANTS; do pages+=(--variant "$v=$OUT/$v"); done
"$U" results "${pages[@]}" -o "$PAGE"
echo "[mechanism] done: $PAGE (the variants side by side), $OUT/<variant>/results.md (each study), archived in $ARCHIVE_ROOT"
