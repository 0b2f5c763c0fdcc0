#!/usr/bin/env bash
# Command-line tests for the unigap binary.
#
# Usage: bash tests/cli/cli_tests.sh <path-to-unigap> <scratch-work-dir>
#
# Runs the real binary and checks exit codes, outputs and error messages:
#   - --version (commit, libtorch, BLAS = OpenBLAS, threads)
#   - world spec --json (valid JSON, canvas 32, >= 3 shapes, >= 6 colors, version 2 by default)
#   - world sample (train/eval disjoint, GenEval tag proportions, seeding)
#   - world render + world check round trip (clean, noisy+blurred, each
#     --mistake, --lenient vs strict)
#   - bad inputs: exit 1 with an `unigap: error:` message naming the
#     file/field/value, or exit 2 for a partially bad image batch; never a
#     crash (signal, exit >= 128) or an internal error (exit 3)
#   - demo start-up (config with provenance, a bad --base refused); the full quick demo is in tests/report
# Static inputs live in tests/cli/fixtures/; images are generated at run time.
# Exit codes of unigap: 0 ok, 1 user error, 2 partial batch, 3 internal error.
#
# Output: one line per case, `PASS name` or `FAIL name: why` (followed by the
# failing command's stderr), then `N passed, M failed`. Exits 1 if M > 0.
# Needs bash, coreutils and /usr/bin/python3 (standard library only).

set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 <path-to-unigap> <scratch-work-dir>" >&2
  exit 2
fi

abspath() { (cd "$(dirname "$1")" && printf '%s/%s\n' "$(pwd)" "$(basename "$1")"); }

BIN=$(abspath "$1" 2>/dev/null) || BIN=$1
WORK_ARG=$2
FIX=$(cd "$(dirname "${BASH_SOURCE[0]}")/fixtures" && pwd)
PY=/usr/bin/python3
CMD_TIMEOUT=120   # seconds per command; a hang fails the case instead of CTest

if [ ! -x "$BIN" ]; then
  echo "FAIL setup: $BIN is not an executable"
  echo "0 passed, 1 failed"
  exit 1
fi

case "$WORK_ARG" in
  ""|/|.|..|"$HOME") echo "refusing to use '$WORK_ARG' as the scratch work dir" >&2; exit 2 ;;
esac
rm -rf "$WORK_ARG" && mkdir -p "$WORK_ARG" || { echo "cannot create $WORK_ARG" >&2; exit 1; }
WORK=$(cd "$WORK_ARG" && pwd)

# Keep runs small and deterministic in their thread use.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}

N_PASS=0
N_FAIL=0
FAILMSG=""   # why the current case failed (first failing check)
CASE_DIR=""  # per-case scratch folder
OUT=""       # stdout of the last command run by `run`
ERR=""       # stderr of the last command run by `run`
RC=0         # exit code of the last command run by `run`
CMD=""       # the last command, for messages
N_RUNS=0

# ---------------------------------------------------------------- helpers

fail() { FAILMSG=$1; return 1; }

# run ARGS...: run `unigap ARGS...` in the case folder; sets RC, OUT, ERR.
run() {
  N_RUNS=$((N_RUNS + 1))
  OUT=$CASE_DIR/cmd$N_RUNS.stdout
  ERR=$CASE_DIR/cmd$N_RUNS.stderr
  CMD="unigap $*"
  (cd "$CASE_DIR" && timeout -k 5 "$CMD_TIMEOUT" "$BIN" "$@") >"$OUT" 2>"$ERR"
  RC=$?
  return 0
}

# describe_rc CODE: a human label for an exit code.
describe_rc() {
  local c=$1
  if [ "$c" -eq 124 ]; then echo "$c (timed out after ${CMD_TIMEOUT}s)"
  elif [ "$c" -ge 128 ]; then echo "$c (crash: signal $((c - 128)))"
  elif [ "$c" -eq 3 ]; then echo "$c (internal error)"
  else echo "$c"; fi
}

# expect_exit N: the last command exited with code N.
expect_exit() {
  [ "$RC" -eq "$1" ] && return 0
  fail "\`$CMD\`: expected exit $1, got $(describe_rc "$RC")"
}

# expect_ok ARGS...: run and expect exit 0.
expect_ok() { run "$@"; expect_exit 0; }

# expect_stderr_contains STR: stderr of the last command contains STR (literal).
expect_stderr_contains() {
  grep -qF -- "$1" "$ERR" && return 0
  fail "\`$CMD\`: stderr does not contain '$1'"
}

# expect_stdout_contains STR: stdout of the last command contains STR (literal).
expect_stdout_contains() {
  grep -qF -- "$1" "$OUT" && return 0
  fail "\`$CMD\`: stdout does not contain '$1'"
}

# expect_stdout_matches ERE: some stdout line matches the extended regex.
expect_stdout_matches() {
  grep -qE -- "$1" "$OUT" && return 0
  fail "\`$CMD\`: no stdout line matches /$1/"
}

# expect_file FILE: FILE exists and is non-empty.
expect_file() {
  [ -s "$1" ] && return 0
  fail "expected non-empty file $1"
}

# expect_user_error STR...: exit 1, stderr starts with `unigap: error:` and
# contains every STR.
expect_user_error() {
  expect_exit 1 || return 1
  grep -q '^unigap: error:' "$ERR" || fail "\`$CMD\`: stderr has no line starting 'unigap: error:'" || return 1
  local s
  for s in "$@"; do expect_stderr_contains "$s" || return 1; done
}

# pycheck CODE ARGS...: run a Python check; it prints the reason and exits
# non-zero on failure. ARGS are in sys.argv[1:].
pycheck() {
  local code=$1; shift
  local msg
  msg=$("$PY" -c "$code" "$@" 2>&1) && return 0
  fail "${msg:-python check failed}"
}

# Python: summarise a results.jsonl -> checks on the fraction correct.
PY_RESULTS='
import json, sys
path, mode = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(path) if l.strip()]
n = len(rows); ok = sum(1 for r in rows if r["correct"])
if n == 0:
    sys.exit(f"{path}: no results")
if mode.startswith("min:"):
    need = float(mode[4:])
    if ok / n < need:
        bad = [r["filename"] + ": " + r["reason"] for r in rows if not r["correct"]][:5]
        sys.exit(f"{ok}/{n} correct, need >= {need:.0%}; e.g. {bad}")
elif mode == "none":
    if ok:
        good = [r["filename"] for r in rows if r["correct"]][:5]
        sys.exit(f"{ok}/{n} marked correct, expected 0; e.g. {good}")
    empty = [r["filename"] for r in rows if not r.get("reason")]
    if empty:
        sys.exit(f"{len(empty)} incorrect result(s) with an empty reason, e.g. {empty[:3]}")
'

# run_case NAME FUNCTION: run one case and report it.
run_case() {
  local name=$1 fn=$2
  # UNIGAP_CLI_CASE=NAME runs that case only (a quick loop while working on it).
  if [ -n "${UNIGAP_CLI_CASE:-}" ] && [ "$UNIGAP_CLI_CASE" != "$name" ]; then return 0; fi
  # UNIGAP_CLI_SKIP="NAME ...": cases left out, said so (the sanitizer build's time budget).
  if [[ " ${UNIGAP_CLI_SKIP:-} " == *" $name "* ]]; then
    echo "SKIP $name (UNIGAP_CLI_SKIP)"
    return 0
  fi
  FAILMSG=""; RC=0; CMD=""; ERR=/dev/null; OUT=/dev/null
  CASE_DIR=$WORK/$name
  mkdir -p "$CASE_DIR"
  local t0=$SECONDS
  if "$fn" && [ -z "$FAILMSG" ]; then
    echo "PASS $name ($((SECONDS - t0)) s)"
    N_PASS=$((N_PASS + 1))
  else
    echo "FAIL $name: ${FAILMSG:-case returned failure}"
    if [ -s "$ERR" ]; then
      echo "  --- stderr of \`$CMD\`:"
      tail -n 40 "$ERR" | sed 's/^/  | /'
    fi
    N_FAIL=$((N_FAIL + 1))
  fi
}

# render_then_check PROMPTS OUTDIR RENDER_ARGS...: render and check (strict).
render_then_check() {
  local prompts=$1 dir=$2; shift 2
  expect_ok world render -q --prompts "$prompts" --out "$dir" "$@" || return 1
  expect_ok world check -q --images "$dir" || return 1
  expect_file "$CASE_DIR/$dir/results.jsonl"
}

# --------------------------------------------------------------- version

case_version() {
  expect_ok --version || return 1
  expect_stdout_matches '^commit: *[^ ]+' || return 1
  expect_stdout_matches '^cpu: *[^ ]+' || return 1
  expect_stdout_matches '^libtorch: *[0-9]+\.[0-9]+' || return 1
  expect_stdout_matches '^BLAS: .*[Oo]pen[Bb][Ll][Aa][Ss]' || return 1
  expect_stdout_matches '^threads: *[0-9]+'
}

# ------------------------------------------------------------ world spec

case_spec_json() {
  expect_ok world spec --json || return 1
  pycheck '
import json, sys
try:
    s = json.load(open(sys.argv[1]))
except ValueError as e:
    sys.exit(f"stdout is not valid JSON: {e}")
canvas, shapes, colors = s.get("canvas"), s.get("shapes", []), s.get("colors", [])
if canvas != 32: sys.exit(f"canvas is {canvas}, expected 32")
if s.get("version") != 2: sys.exit(f"the default world is version {s.get('version')}, expected 2")
if len(shapes) < 3: sys.exit(f"only {len(shapes)} shapes: {shapes}")
if len(colors) < 6: sys.exit(f"only {len(colors)} colors")
' "$OUT"
}

# --------------------------------------------------------- world sample

case_sample_train_eval_disjoint() {
  expect_ok world sample -q --split train --all -o train.jsonl || return 1
  expect_ok world sample -q --split eval --all -o eval.jsonl || return 1
  pycheck '
import json, sys
tr = {json.loads(l)["prompt"] for l in open(sys.argv[1]) if l.strip()}
ev = {json.loads(l)["prompt"] for l in open(sys.argv[2]) if l.strip()}
if not tr or not ev: sys.exit(f"empty split: train {len(tr)}, eval {len(ev)}")
both = tr & ev
if both: sys.exit(f"{len(both)} prompt(s) in both splits, e.g. {sorted(both)[:3]}")
' "$CASE_DIR/train.jsonl" "$CASE_DIR/eval.jsonl"
}

case_sample_eval_553_proportions() {
  expect_ok world sample -q --split eval --n 553 --seed 0 -o eval553.jsonl || return 1
  pycheck '
import collections, json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
if len(rows) != 553: sys.exit(f"{len(rows)} lines, expected 553")
got = collections.Counter(r["tag"] for r in rows)
want = {"single_object": 80, "two_object": 99, "counting": 80,
        "colors": 94, "position": 100, "color_attr": 100}
if dict(got) != want: sys.exit(f"tag counts {dict(got)}, expected {want}")
' "$CASE_DIR/eval553.jsonl"
}

case_sample_same_seed_identical() {
  expect_ok world sample -q --split train --n 60 --seed 11 -o a.jsonl || return 1
  expect_ok world sample -q --split train --n 60 --seed 11 -o b.jsonl || return 1
  expect_file "$CASE_DIR/a.jsonl" || return 1
  cmp -s "$CASE_DIR/a.jsonl" "$CASE_DIR/b.jsonl" || fail "seed 11 twice gave different files"
}

case_sample_different_seed_differs() {
  expect_ok world sample -q --split train --n 60 --seed 11 -o a.jsonl || return 1
  expect_ok world sample -q --split train --n 60 --seed 12 -o b.jsonl || return 1
  expect_file "$CASE_DIR/a.jsonl" || return 1
  ! cmp -s "$CASE_DIR/a.jsonl" "$CASE_DIR/b.jsonl" || fail "seeds 11 and 12 gave identical files"
}

# ------------------------------------------------ render + check round trip

case_roundtrip_clean_100() {
  render_then_check "$FIX/prompts_all_tags.jsonl" clean --n 4 --seed 1 || return 1
  pycheck "$PY_RESULTS" "$CASE_DIR/clean/results.jsonl" min:1.0 || return 1
  # GenEval layout: DIR/00000/metadata.jsonl (one line) and samples/0000.png.
  expect_file "$CASE_DIR/clean/00000/metadata.jsonl" || return 1
  expect_file "$CASE_DIR/clean/00000/samples/0000.png" || return 1
  [ "$(grep -c . "$CASE_DIR/clean/00000/metadata.jsonl")" -eq 1 ] ||
    fail "clean/00000/metadata.jsonl does not have exactly one line"
}

case_roundtrip_noise12_blur1_98() {
  render_then_check "$FIX/prompts_all_tags.jsonl" noisy --n 4 --seed 2 --noise 12 --blur 1 || return 1
  pycheck "$PY_RESULTS" "$CASE_DIR/noisy/results.jsonl" min:0.98
}

# mistake_case KIND: images drawn with --mistake KIND are all incorrect and
# every result carries a reason. (render skips prompts KIND does not apply to.)
mistake_case() {
  render_then_check "$FIX/prompts_all_tags.jsonl" "mistake_$1" --n 3 --seed 3 --mistake "$1" || return 1
  pycheck "$PY_RESULTS" "$CASE_DIR/mistake_$1/results.jsonl" none
}
case_mistake_color_swap()    { mistake_case color_swap; }
case_mistake_shape_swap()    { mistake_case shape_swap; }
case_mistake_add_object()    { mistake_case add_object; }
case_mistake_remove_object() { mistake_case remove_object; }
case_mistake_flip_relation() {
  mistake_case flip_relation || return 1
  pycheck '
import json, sys
tags = {json.loads(l)["tag"] for l in open(sys.argv[1]) if l.strip()}
if tags != {"position"}: sys.exit(f"flip_relation rendered tags {sorted(tags)}, expected only position")
' "$CASE_DIR/mistake_flip_relation/results.jsonl"
}

# A single_object prompt drawn with an extra object: GenEval counts with >=,
# so --lenient accepts it; the strict (closed-world) rules reject it.
case_check_lenient_accepts_extra_object() {
  expect_ok world render -q --prompts "$FIX/prompt_single_object.jsonl" --out add --n 4 --mistake add_object || return 1
  expect_ok world check -q --images add --lenient -o lenient.jsonl || return 1
  pycheck "$PY_RESULTS" "$CASE_DIR/lenient.jsonl" min:1.0
}

case_check_strict_rejects_extra_object() {
  expect_ok world render -q --prompts "$FIX/prompt_single_object.jsonl" --out add --n 4 --mistake add_object || return 1
  expect_ok world check -q --images add -o strict.jsonl || return 1
  pycheck "$PY_RESULTS" "$CASE_DIR/strict.jsonl" none || return 1
  pycheck '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
bad = [r["reason"] for r in rows if "extra" not in r["reason"]]
if bad: sys.exit(f"reason does not mention extra: {bad[:3]}")
' "$CASE_DIR/strict.jsonl"
}

# ------------------------------------------------ bad prompts (exit 1)

# bad_prompts_case FIXTURE STR...: rendering FIXTURE fails with exit 1 and a
# message naming the file and every STR.
bad_prompts_case() {
  local f=$FIX/$1; shift
  run world render -q --prompts "$f" --out out --n 1
  expect_user_error "$f" "$@"
}
case_prompts_malformed_json()       { bad_prompts_case prompts_malformed_line2.jsonl "prompts_malformed_line2.jsonl:2"; }
case_prompts_unknown_color()        { bad_prompts_case prompt_unknown_color.jsonl "magenta" "color"; }
case_prompts_unknown_shape()        { bad_prompts_case prompt_unknown_shape.jsonl "hexagon" "shape"; }
case_prompts_count_zero()           { bad_prompts_case prompt_count_zero.jsonl "count" "0"; }
case_prompts_count_fifty()          { bad_prompts_case prompt_count_fifty.jsonl "count" "50"; }
case_prompts_unknown_tag()          { bad_prompts_case prompt_unknown_tag.jsonl "tag" "texture"; }
case_prompts_position_target_out_of_range() { bad_prompts_case prompt_position_target_out_of_range.jsonl "position" "5"; }
case_prompts_position_target_self() { bad_prompts_case prompt_position_target_self.jsonl "position" "1"; }

case_prompts_file_missing() {
  run world render -q --prompts "$CASE_DIR/no_such_prompts.jsonl" --out out --n 1
  expect_user_error "$CASE_DIR/no_such_prompts.jsonl"
}

# ------------------------------------------------ bad image folders

case_check_missing_folder() {
  run world check -q --images "$CASE_DIR/no_such_folder"
  expect_user_error "$CASE_DIR/no_such_folder"
}

case_check_empty_folder() {
  mkdir -p "$CASE_DIR/empty"
  run world check -q --images "$CASE_DIR/empty"
  expect_user_error "$CASE_DIR/empty"
}

# One sample is garbage bytes, another is a 16x16 PNG (rendered with a
# canvas-16 world): exit 2, both listed, the two good images still scored.
case_check_bad_pngs_partial() {
  expect_ok world render -q --world "$FIX/world_canvas16.json" \
    --prompts "$FIX/prompt_single_object.jsonl" --out small --n 1 || return 1
  head -n 2 "$FIX/prompts_all_tags.jsonl" >"$CASE_DIR/two.jsonl"
  expect_ok world render -q --prompts two.jsonl --out mixed --n 2 || return 1
  local garbage=mixed/00000/samples/0000.png small16=mixed/00001/samples/0001.png
  head -c 300 /dev/urandom >"$CASE_DIR/$garbage"
  cp "$CASE_DIR/small/00000/samples/0000.png" "$CASE_DIR/$small16"
  run world check -q --images mixed
  expect_exit 2 || return 1
  expect_stderr_contains "$garbage" || return 1
  expect_stderr_contains "$small16" || return 1
  expect_stderr_contains "16x16" || return 1
  expect_file "$CASE_DIR/mixed/results.jsonl" || return 1
  pycheck '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
got = sorted(r["filename"] for r in rows)
want = ["mixed/00000/samples/0001.png", "mixed/00001/samples/0000.png"]
if got != want: sys.exit(f"results.jsonl scored {got}, expected {want}")
if not all(r["correct"] for r in rows): sys.exit("a good clean image was scored incorrect")
' "$CASE_DIR/mixed/results.jsonl"
}

case_check_malformed_metadata_partial() {
  head -n 2 "$FIX/prompts_all_tags.jsonl" >"$CASE_DIR/two.jsonl"
  expect_ok world render -q --prompts two.jsonl --out imgs --n 2 || return 1
  printf '{"include":[{"class":\n' >"$CASE_DIR/imgs/00001/metadata.jsonl"
  run world check -q --images imgs
  expect_exit 2 || return 1
  expect_stderr_contains "imgs/00001/metadata.jsonl" || return 1
  expect_file "$CASE_DIR/imgs/results.jsonl" || return 1
  pycheck '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
got = sorted(r["filename"] for r in rows)
want = ["imgs/00000/samples/0000.png", "imgs/00000/samples/0001.png"]
if got != want: sys.exit(f"results.jsonl scored {got}, expected {want}")
' "$CASE_DIR/imgs/results.jsonl"
}

# ------------------------------------------------ bad world specs (exit 1)

bad_world_case() {
  local f=$FIX/$1; shift
  run world spec --world "$f"
  expect_user_error "$f" "$@"
}
case_world_unknown_field()         { bad_world_case world_unknown_field.json "shape_palette"; }
case_world_color_near_background() { bad_world_case world_color_near_background.json "ghost" "background"; }
case_world_bad_type_canvas()       { bad_world_case world_bad_type_canvas.json "canvas"; }
case_world_bad_type_shapes()       { bad_world_case world_bad_type_shapes.json "shapes"; }
case_world_bad_rgb()               { bad_world_case world_bad_rgb.json "colors[0].rgb"; }

case_world_file_missing() {
  run world spec --world "$CASE_DIR/no_such_world.json"
  expect_user_error "$CASE_DIR/no_such_world.json"
}

# ------------------------------------------------ bad options (exit 1)

case_sample_n_zero() {
  run world sample -q --n 0
  expect_user_error "--n" "0"
}

case_sample_unknown_split() {
  run world sample -q --split test
  expect_user_error "--split" "test"
}

case_render_unknown_mistake() {
  run world render -q --prompts "$FIX/prompt_single_object.jsonl" --out out --mistake teleport
  expect_user_error "--mistake" "teleport"
}

# ------------------------------------------------------------------ world v2

# Version 2: three splits, pairwise disjoint, with at least 40 eval prompts of every tag (texts;
# the meaning groups are counted in WorldV2.*); version 1 has no validation split.
case_world_v2_splits() {
  local sp
  for sp in train val eval; do
    expect_ok world sample -q --world v2 --split $sp --all -o $sp.jsonl || return 1
  done
  pycheck '
import collections, json, sys
rows = {s: [json.loads(l) for l in open(f"{sys.argv[1]}/{s}.jsonl") if l.strip()] for s in ("train", "val", "eval")}
texts = {s: {r["prompt"] for r in v} for s, v in rows.items()}
for a, b in (("train", "val"), ("train", "eval"), ("val", "eval")):
    if texts[a] & texts[b]: sys.exit(f"{a} and {b} share {sorted(texts[a] & texts[b])[:3]}")
ev = collections.Counter(r["tag"] for r in rows["eval"])
if len(ev) != 6 or min(ev.values()) < 40: sys.exit(f"eval prompts per tag: {dict(ev)}")
sized = [r for r in rows["train"] if any("size" in c or "location" in c for c in r["include"])]
if not sized: sys.exit("no train prompt carries a size or a location")
' "$CASE_DIR" || return 1
  run world sample -q --world v1 --split val --all
  expect_user_error "no validation split" "--world v2"
}

# The two mistakes of version 2 are caught by the oracle.
v2_mistake_case() {
  expect_ok world sample -q --world v2 --split train --n 60 --seed 4 -o p.jsonl || return 1
  expect_ok world render -q --world v2 --prompts p.jsonl --out m --n 2 --seed 5 --noise 12 --blur 1 --mistake "$1" || return 1
  expect_ok world check -q --world v2 --images m || return 1
  pycheck "$PY_RESULTS" "$CASE_DIR/m/results.jsonl" none
}
case_world_v2_size_swap() { v2_mistake_case size_swap; }
case_world_v2_move()      { v2_mistake_case move; }

# Tuning reads the validation split: a version 1 model has none to choose guidance on.
case_eval_cfg_grid_needs_validation() {
  run eval --ckpt "$ROOT/models/base-small" --cfg-grid 1,2 --prompts 6 -k 1 -o ev -q
  expect_user_error "no validation split" "--cfg-grid"
}

# The shipped version 2 base is a version 2 model: it evaluates on version 2's eval split with
# its guidance chosen on validation, and its judge answers.
case_base_small_v2_evaluates_on_its_world() {
  # The second look samples every validation prompt at both weights (928 images): 26 s run by
  # hand, 119 s inside this suite, both beside two busy training processes (2026-12-07).
  CMD_TIMEOUT=300 expect_ok eval --ckpt "$ROOT/models/base-small-v2" --cfg-grid 1,2 --cfg-prompts 6 --prompts 6 -k 1 -o ev -q || return 1
  pycheck '
import json, sys
c = json.load(open(f"{sys.argv[1]}/ev/config.json"))
if json.load(open(sys.argv[2]))["world"].get("version") != 2: sys.exit("models/base-small-v2 is not a version 2 model")
g = c.get("guidance") or {}
if g.get("split") != "val" or g.get("chosen") not in (1.0, 2.0): sys.exit(f"guidance not chosen on validation: {g}")
if g.get("rule") != "two-stage" or len(g.get("margins", [])) != 1: sys.exit(f"guidance without its first look margin: {g}")
second = g.get("second") or {}  # 6 prompts, one per tag, cannot separate: a second look on every validation prompt
if second.get("prompts") != 464 or len(second.get("gen_by_cfg", [])) != 2: sys.exit(f"no second look on all 464 validation prompts: {g}")
rows = [json.loads(l) for l in open(f"{sys.argv[1]}/ev/results.jsonl") if l.strip()]
if len(rows) != 6 or not all("verdict" in r and 0 <= r["score"] <= 1 for r in rows): sys.exit(f"{len(rows)} results, expected 6 judged images")
' "$CASE_DIR" "$ROOT/models/base-small-v2/config.json"
}

# On the shipped version 2 base: an improve run whose tracking chooses its guidance on validation
# at every epoch (--eval-cfg-grid), then the held-out dynamics of its model (dynamics
# --held-out): probes of the eval split, both judges, the run's update; the train split and a
# missing --improved are refused.
case_dynamics_held_out() {
  expect_ok improve --ckpt "$ROOT/models/base-small-v2" --prompts 6 -n 2 --epochs 1 --batch 4 --supervision all \
    --eval-prompts 4 --eval-k 1 --eval-cfg-grid 1,2 --audit-sample 0 -o imp -q || return 1
  expect_ok dynamics --ckpt "$ROOT/models/base-small-v2" --improved imp/model --pool imp/pool.jsonl --held-out eval \
    --held-out-prompts 6 --held-out-k 1 --neighbours 4 -o ho -q || return 1
  expect_stdout_contains "bayes" || return 1
  pycheck '
import json, sys
d = sys.argv[1]
evals = [json.loads(l) for l in open(f"{d}/imp/metrics.jsonl") if l.strip() and json.loads(l).get("kind") == "eval"]
if len(evals) != 2 or not all(e.get("guidance", {}).get("split") == "val" for e in evals): sys.exit(f"tracking did not choose its guidance on val: {evals}")
s = json.load(open(f"{d}/ho/summary.json"))
if s["images"] != 6 or set(s["judges"]) != {"yes_no", "bayes"}: sys.exit(f"held-out summary: {s}")
if s["kernel"]["training_examples"] != 4: sys.exit("the kernels did not read 4 training examples")
if len([l for l in open(f"{d}/ho/probes.jsonl") if l.strip()]) != 6: sys.exit("probes.jsonl does not hold 6 probes")
' "$CASE_DIR" || return 1
  run dynamics --ckpt "$ROOT/models/base-small-v2" --improved imp/model --held-out train -o ho-train -q
  expect_user_error "held out" "--held-out" || return 1
  run dynamics --ckpt "$ROOT/models/base-small-v2" --held-out eval -o ho-none -q
  expect_user_error "--improved" || return 1
  # Each mode's options are refused in the other, naming the option.
  run dynamics --ckpt "$ROOT/models/base-small-v2" --pool imp/pool.jsonl --held-out-k 3 -o ho-step -q
  expect_user_error "--held-out-k" "only with --held-out" || return 1
  run dynamics --ckpt "$ROOT/models/base-small-v2" --improved imp/model --held-out eval --probes 3 -o ho-probes -q
  expect_user_error "--probes" || return 1
  # A negative count is refused before any model is read (it had reached a vector's resize).
  run dynamics --ckpt "$ROOT/models/base-small-v2" --improved imp/model --held-out eval --random-prompts -1 -o ho-neg -q
  expect_user_error "--random-prompts" ">= 0"
}

# The study's baselines on the shipped base: continued pretraining on renders (every candidate
# a ground-truth render: all accepted and all right) and unfiltered SFT (all accepted), both
# with a fixed budget of SFT samples; the budget is refused for DPO.
case_improve_baselines() {
  local common=(--ckpt "$ROOT/models/base-small" --prompts 6 -n 2 --epochs 1 --batch 4 --sft-samples 10
                --eval-every 0 --eval-prompts 6 --eval-k 1 --audit-sample 0 -q)
  expect_ok improve "${common[@]}" --supervision render -o render || return 1
  run improve "${common[@]}" --supervision all -o all-from-renders --pool-from render
  expect_user_error "its candidates are renders" "--pool-from" || return 1
  expect_ok improve "${common[@]}" --supervision all -o all || return 1
  pycheck '
import json, sys
for arm, all_right in (("render", True), ("all", False)):
    lines = [json.loads(l) for l in open(f"{sys.argv[1]}/{arm}/pool.jsonl") if l.strip()]
    cands = [l for l in lines if l.get("type") == "candidate"]
    if len(cands) != 12: sys.exit(f"{arm}: {len(cands)} candidates, expected 6 prompts x 2")
    if not all(c["verdict"] for c in cands): sys.exit(f"{arm}: a candidate was not accepted")
    if all_right and not all(c["oracle"] for c in cands): sys.exit(f"{arm}: a render is not right by the oracle")
    s = json.load(open(f"{sys.argv[1]}/{arm}/summary.json"))
    n = s.get("items_per_epoch")
    if n != 10: sys.exit(f"{arm}: items_per_epoch {n}, expected the budget 10")
' "$CASE_DIR" || return 1
  run improve "${common[@]}" --method dpo --supervision self -o dpo
  expect_user_error "sft_samples" "DPO"
}

# ------------------------------------------------------------------ demo

# The full `demo --quick` runs in the report test (tests/report); here only its start-up:
# the run directory's config with provenance (commit and machine), and a clear error for a bad --base.
# Online RL on the shipped base: every step's monitor and per-sample records in metrics.jsonl,
# the rollouts counted in summary.json; a supervision that rewards nothing is refused.
case_improve_grpo() {
  local common=(--ckpt "$ROOT/models/base-small" --method grpo --prompts 4 --batch 2 --group 2 --epochs 1
                --rollout-log-every 1 --eval-every 0 --eval-prompts 4 --eval-k 1 -q)
  expect_ok improve "${common[@]}" -o grpo || return 1
  pycheck '
import json, sys
recs = [json.loads(l) for l in open(f"{sys.argv[1]}/grpo/metrics.jsonl") if l.strip()]
steps = [r for r in recs if r.get("kind") == "grpo"]
dumps = [r for r in recs if r.get("kind") == "rollouts"]
if len(steps) != 2 or len(dumps) != 2: sys.exit(f"{len(steps)} grpo and {len(dumps)} rollouts records, expected 2 and 2")
for r in steps:
    m = r["monitor"]
    for k in ("samples", "self_reward", "oracle_accuracy", "divergence", "divergence_baseline", "alarm"):
        if k not in m: sys.exit(f"monitor lacks {k}: {m}")
    if abs(m["divergence"] - (m["self_reward"] - m["oracle_accuracy"])) > 1e-12: sys.exit(f"divergence is not reward - accuracy: {m}")
    if "loss/grpo" not in r or "grpo/kl" not in r: sys.exit(f"loss terms missing: {r}")
for d in dumps:
    n = len(d["samples"])
    if n != 4: sys.exit(f"{n} samples in a step, expected 2 prompts x 2")
s = json.load(open(f"{sys.argv[1]}/grpo/summary.json"))
if s.get("rollouts") != 8 or s.get("optimizer_steps") != 2: sys.exit(f"summary: {s}")
' "$CASE_DIR" || return 1
  run improve "${common[@]}" --supervision all -o all
  expect_user_error "GRPO needs a reward" "supervision"
}

# `results --variant`: the mechanism study's page refuses what it cannot read, by name.
case_results_variant_errors() {
  run results --variant reference
  expect_user_error "--variant reference" "NAME=DIR" || return 1
  run results --variant "a=$CASE_DIR/none" -o "$CASE_DIR/m.md"
  expect_user_error "runs folder not found" "$CASE_DIR/none" || return 1
  mkdir -p "$CASE_DIR/empty"
  run results --variant "a=$CASE_DIR/empty"
  expect_user_error "--out" || return 1
  run results --variant "a=$CASE_DIR/empty" -o "$CASE_DIR/m.md"
  expect_user_error "$CASE_DIR/empty" || return 1
  [ ! -e "$CASE_DIR/m.md" ] || fail "a refused page was written"
  run results --runs "$CASE_DIR/empty" --variant "a=$CASE_DIR/empty"
  expect_exit 1 && expect_stderr_contains "--runs excludes --variant"
}

case_demo_bad_base() {
  run demo --quick --out demo --base "$CASE_DIR/no-such-model"
  expect_user_error "not a checkpoint folder" "no-such-model" || return 1
  expect_file "$CASE_DIR/demo/config.json" || return 1
  pycheck '
import json, sys
c = json.load(open(sys.argv[1]))
p = c.get("provenance")
if not isinstance(p, dict) or not p.get("commit"): sys.exit(f"config.json has no provenance.commit: {p}")
m = p.get("machine", {})
if not m.get("cpu") or not m.get("blas") or not isinstance(m.get("threads"), int) or m["threads"] < 1:
    sys.exit(f"config.json has no provenance.machine (cpu, blas, threads >= 1): {p}")
' "$CASE_DIR/demo/config.json"
}

# A second start on the same directory needs --resume, and the same options.
case_demo_rerun_needs_resume() {
  run demo --quick --out demo --base "$CASE_DIR/no-such-model"
  run demo --quick --out demo --base "$CASE_DIR/no-such-model"
  expect_user_error "already holds a demo run" "--resume" || return 1
  run demo --out demo --base "$CASE_DIR/no-such-model" --resume
  expect_user_error "started with another config" "config.json" || return 1
}

# ------------------------------------------------------------------ Janus-Pro

# An official Janus-Pro folder (the tiny fixture checkpoint) evaluated on GenEval's own prompts
# (open vocabulary), judged by a checkpoint (itself): every file of an eval run, the judge named.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
JANUS=$ROOT/tests/data/janus/tiny
case_janus_eval_geneval() {
  head -n 24 "$ROOT/data/geneval/evaluation_metadata.jsonl" > "$CASE_DIR/geneval24.jsonl"
  run --threads 1 eval --ckpt "$JANUS" --suite geneval24.jsonl --judge "ckpt:$JANUS" -k 2 -o ev -q
  expect_exit 0 || return 1
  expect_stdout_contains "external judge (Gen, WeakGen, precision, win rate): ckpt:$JANUS" || return 1
  for f in config.json summary.json summary.csv results.jsonl metrics.jsonl images/00023/metadata.jsonl images/00023/samples/0001.png; do
    expect_file "$CASE_DIR/ev/$f" || return 1
  done
  pycheck '
import json, struct, sys
d = sys.argv[1]
rows = [json.loads(l) for l in open(d + "/results.jsonl")]
if len(rows) != 48: sys.exit(f"{len(rows)} result lines, expected 24 prompts x 2")
for r in rows:
    for k in ("filename", "prompt", "tag", "score", "verdict", "correct"):
        if k not in r: sys.exit(f"results.jsonl line without {k}: {r}")
s = json.load(open(d + "/summary.json"))["per_seed"][0]
if not s["external_judge"].startswith("ckpt:"): sys.exit("judge not named: " + s["external_judge"])
if s["und"]["overall"]["accuracy"]["n"] != 0: sys.exit("Und on rendered pairs measured on an open-vocabulary suite")
c = json.load(open(d + "/config.json"))
if not c["eval"].get("open_vocabulary"): sys.exit("config does not record the open vocabulary")
png = open(d + "/images/00023/samples/0001.png", "rb").read()
w, h = struct.unpack(">II", png[16:24])
if (w, h) != (64, 64): sys.exit(f"image {w}x{h}, the tiny model draws 64x64")
' "$CASE_DIR/ev" || return 1
  # The oracle cannot judge GenEval's classes.
  run eval --ckpt "$JANUS" --suite geneval24.jsonl -o ev2 -q
  expect_user_error "the oracle judges the shapes world's prompts only" "--judge" || return 1
  # generate writes GenEval's layout from the same prompts.
  run --threads 1 generate --ckpt "$JANUS" --prompts geneval24.jsonl --n 1 -o gen -q
  expect_exit 0 || return 1
  expect_file "$CASE_DIR/gen/00023/samples/0000.png" || return 1
  # Images of another size (384 px, as Janus-Pro-1B draws) judged with --images, and the report of
  # that evaluation: the grid shows them as 160 px thumbnails.
  pycheck '
import os, shutil, sys
from PIL import Image
src, dst = sys.argv[1], sys.argv[2]
shutil.copytree(src, dst)
for d, _, fs in os.walk(dst):
    for f in fs:
        if f.endswith(".png"):
            Image.open(os.path.join(d, f)).resize((384, 384), Image.NEAREST).save(os.path.join(d, f))
' "$CASE_DIR/gen" "$CASE_DIR/big" || return 1
  run --threads 1 eval --ckpt "$JANUS" --suite geneval24.jsonl --images big --judge "ckpt:$JANUS" -k 1 -o rep/eval-base -q
  expect_exit 0 || return 1
  run report --run rep
  expect_exit 0 || return 1
  pycheck '
import base64, re, struct, sys
html = open(sys.argv[1]).read()
figs = re.findall(r"<figure class=\"(?:right|wrong) large\" title=\"384x384[^\"]*\"><img alt=\"sample\" src=\"data:image/png;base64,([^\"]+)\"", html)
if not figs: sys.exit("no 384 px figure in the report")
w, h = struct.unpack(">II", base64.b64decode(figs[0])[16:24])
if (w, h) != (160, 160): sys.exit(f"thumbnail {w}x{h}, expected 160x160")
' "$CASE_DIR/rep/report.html" || return 1
}

# Self-improvement of the Janus-Pro fixture through a LoRA adapter: SFT with curriculum replay
# under ckpt: supervision, DPO under inverted supervision, the audit gate, the adapter read back
# by eval (--adapter, and as a checkpoint folder), merged, full fine-tuning of chosen groups,
# dynamics over the adapter, prompt files in GenEval's open vocabulary (--train-suite,
# --eval-suite), and a run killed mid-write twice that resumes to a byte-identical adapter. (The tiny model's own scores lie near 0.3: the
# threshold 0.34 accepts some candidates and discards two prompts.)
case_janus_lora_improve() {
  local common=(--judge "ckpt:$JANUS" --prompts 6 -n 2 --batch 4 --eval-prompts 2 --eval-k 1 --audit-sample 8
                --lora-rank 4 --lora-alpha 8 -q)
  run --threads 1 improve --ckpt "$JANUS" -o sft --method sft --supervision "ckpt:$JANUS" --epochs 3 --curriculum-epochs 1 \
      --grad-checkpointing --audit-min-precision 0 --threshold 0.34 "${common[@]}"
  expect_exit 0 || return 1
  for f in model/adapter_config.json model/adapter_model.safetensors model/unigap.json audit.json summary.json; do
    expect_file "$CASE_DIR/sft/$f" || return 1
  done
  [ ! -e "$CASE_DIR/sft/model/config.json" ] || { fail "an adapter folder holds config.json"; return 1; }
  pycheck '
import json, sys
d = sys.argv[1]
recs = [json.loads(l) for l in open(d + "/metrics.jsonl")]
if not any(r.get("kind") == "replay" and r["epoch"] == 1 for r in recs): sys.exit("no replay record at epoch 1")
if sum(1 for r in recs if r.get("kind") == "eval") != 4: sys.exit("held-out tracking is not at epochs 0..3")
c = json.load(open(d + "/config.json"))["improve"]
if c.get("lora", {}).get("rank") != 4 or not c.get("grad_checkpointing"): sys.exit("config does not record the adapter: " + json.dumps(c))
' "$CASE_DIR/sft" || return 1
  # Inverted supervision scores 1 - s: at 0.67 it accepts what the model scores below 0.33.
  run --threads 1 improve --ckpt "$JANUS" -o dpo --method dpo --supervision inverted --epochs 2 --threshold 0.67 "${common[@]}"
  expect_exit 0 || return 1
  expect_file "$CASE_DIR/dpo/model/adapter_model.safetensors" || return 1
  # The gate: inverted supervision accepts what the (same) external judge rejects.
  run --threads 1 improve --ckpt "$JANUS" -o gate --method sft --supervision inverted --epochs 1 --audit-min-precision 0.5 "${common[@]}" \
      --threshold 0.67
  expect_user_error "refusing to train" "audit.json" || return 1
  # Read back: as --adapter on the base and as a checkpoint folder, the same images and verdicts.
  head -n 6 "$ROOT/data/geneval/evaluation_metadata.jsonl" > "$CASE_DIR/geneval6.jsonl"
  run --threads 1 eval --ckpt "$JANUS" --adapter sft/model --suite geneval6.jsonl --judge "ckpt:$JANUS" -k 1 -o ev1 -q
  expect_exit 0 || return 1
  run --threads 1 eval --ckpt sft/model --suite geneval6.jsonl --judge "ckpt:$JANUS" -k 1 -o ev2 -q
  expect_exit 0 || return 1
  pycheck '
import json, sys
rows = [[{k: v for k, v in json.loads(l).items() if k != "filename"} for l in open(f)] for f in sys.argv[1:]]
if rows[0] != rows[1]: sys.exit("--adapter and the adapter folder give different results")
if json.load(open(sys.argv[1].replace("results.jsonl", "config.json")))["model_options"]["adapter"] != "sft/model":
    sys.exit("the eval config does not name the adapter")
' "$CASE_DIR/ev1/results.jsonl" "$CASE_DIR/ev2/results.jsonl" || return 1
  run merge --ckpt sft/model -o merged
  expect_exit 0 || return 1
  expect_file "$CASE_DIR/merged/model.safetensors" || return 1
  run merge --ckpt "$JANUS" -o merged2
  expect_user_error "has no LoRA adapter to merge" || return 1
  run --threads 1 improve --ckpt "$JANUS" -o bad --train-groups llm "${common[@]}"
  expect_user_error "only the group 'lora' trains" || return 1
  # Full fine-tuning of chosen Janus groups (no adapter): model/ is an official-layout folder.
  run --threads 1 improve --ckpt "$JANUS" -o full --method sft --supervision inverted --threshold 0.67 --epochs 1 \
      --train-groups gen_head,gen_aligner --judge "ckpt:$JANUS" --prompts 6 -n 2 --batch 4 --eval-prompts 2 --eval-k 1 --audit-sample 8 -q
  expect_exit 0 || return 1
  expect_file "$CASE_DIR/full/model/model.safetensors" || return 1
  expect_file "$CASE_DIR/full/model/tokenizer.json" || return 1
  # Learning dynamics over the trained adapter's tensors only.
  run --threads 1 dynamics --ckpt "$JANUS" --adapter sft/model --pool sft/pool.jsonl --probes 4 --train-batch 2 \
      --alternatives 2 --fp-probes 8 -o dyn -q
  expect_exit 0 || return 1
  pycheck '
import json, sys
s = json.load(open(sys.argv[1] + "/summary.json"))
c = json.load(open(sys.argv[1] + "/config.json"))
if c.get("adapter") != "sft/model": sys.exit("the dynamics config does not name the adapter")
if not s.get("fits"): sys.exit("no fits in the dynamics summary")
' "$CASE_DIR/dyn" || return 1
  # Prompt files in GenEval's open vocabulary: training prompts and held-out prompts of its own,
  # disjoint (checked before sampling), never the oracle; dynamics over such a pool.
  sed -n '100,105p' "$ROOT/data/geneval/evaluation_metadata.jsonl" > "$CASE_DIR/train6.jsonl"
  run --threads 1 improve --ckpt "$JANUS" -o open --method sft --supervision inverted --epochs 1 \
      --train-suite train6.jsonl --eval-suite geneval6.jsonl "${common[@]}"
  expect_exit 0 || return 1
  pycheck '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1] + "/pool.jsonl")]
if not lines[0].get("open_vocabulary"): sys.exit("the pool does not record its open vocabulary")
train = [json.loads(l)["prompt"] for l in open(sys.argv[2])]
prompts = [l["metadata"]["prompt"] for l in lines if l["type"] == "prompt"]
if prompts != train: sys.exit(f"pool prompts {prompts} are not the training file {train}")
c = json.load(open(sys.argv[1] + "/config.json"))["improve"]
if c.get("train_suite") != "train6.jsonl" or c.get("eval_suite") != "geneval6.jsonl": sys.exit("config does not name the suites")
' "$CASE_DIR/open" "$CASE_DIR/train6.jsonl" || return 1
  run --threads 1 dynamics --ckpt open/model --pool open/pool.jsonl --probes 4 --train-batch 2 --alternatives 2 --fp-probes 8 -o dyn-open -q
  expect_exit 0 || return 1
  run --threads 1 improve --ckpt "$JANUS" -o overlap --supervision inverted --threshold 0.67 --epochs 1 \
      --train-suite geneval6.jsonl --eval-suite geneval6.jsonl "${common[@]}"
  expect_user_error "is also a held-out prompt" "--train-suite geneval6.jsonl" || return 1
  [ ! -e "$CASE_DIR/overlap/pool.jsonl" ] || { fail "candidates were sampled before the overlap was refused"; return 1; }
  run --threads 1 improve --ckpt "$JANUS" -o oracle --supervision inverted --threshold 0.67 --epochs 1 --train-suite train6.jsonl \
      --prompts 6 -n 2 --batch 4 --eval-prompts 2 --eval-k 1 --lora-rank 4 -q
  expect_user_error "the oracle judges the shapes world's prompts only" "--judge" || return 1
  # Killed twice mid-write (the counter restarts with each process), resumed: byte-identical.
  local args=(--threads 1 improve --ckpt "$JANUS" --method sft --supervision "ckpt:$JANUS" --epochs 3 --curriculum-epochs 1 --threshold 0.34 "${common[@]}")
  local total kills=0 rc
  total=$(du -sb "$CASE_DIR/sft" | cut -f1)
  for off in $((total / 2)) $((total / 4)); do
    { (cd "$CASE_DIR" && UNIGAP_KILL_AFTER_BYTES=$off "$BIN" "${args[@]}" -o killed $([ -d "$CASE_DIR/killed" ] && echo --resume) \
        > /dev/null 2>&1); rc=$?; } 2> /dev/null
    [ "$rc" = 137 ] && kills=$((kills + 1))
    [ "$rc" = 137 ] || [ "$rc" = 0 ] || { fail "a killed run exited $rc"; return 1; }
  done
  [ "$kills" -ge 1 ] || { fail "no kill landed"; return 1; }
  run "${args[@]}" -o killed --resume
  expect_exit 0 || return 1
  cmp -s "$CASE_DIR/sft/model/adapter_model.safetensors" "$CASE_DIR/killed/model/adapter_model.safetensors" ||
    { fail "the resumed adapter differs from the uninterrupted run's (kills: $kills)"; return 1; }
}

# ------------------------------------------------------------------- main

START=$SECONDS
run_case version_lines                      case_version
run_case spec_json_valid                    case_spec_json
run_case sample_train_eval_disjoint         case_sample_train_eval_disjoint
run_case sample_eval_553_proportions        case_sample_eval_553_proportions
run_case sample_same_seed_identical         case_sample_same_seed_identical
run_case sample_different_seed_differs      case_sample_different_seed_differs
run_case roundtrip_clean_100                case_roundtrip_clean_100
run_case roundtrip_noise12_blur1_98         case_roundtrip_noise12_blur1_98
run_case mistake_color_swap                 case_mistake_color_swap
run_case mistake_shape_swap                 case_mistake_shape_swap
run_case mistake_add_object                 case_mistake_add_object
run_case mistake_remove_object              case_mistake_remove_object
run_case mistake_flip_relation              case_mistake_flip_relation
run_case check_lenient_accepts_extra_object case_check_lenient_accepts_extra_object
run_case check_strict_rejects_extra_object  case_check_strict_rejects_extra_object
run_case prompts_malformed_json             case_prompts_malformed_json
run_case prompts_unknown_color              case_prompts_unknown_color
run_case prompts_unknown_shape              case_prompts_unknown_shape
run_case prompts_count_zero                 case_prompts_count_zero
run_case prompts_count_fifty                case_prompts_count_fifty
run_case prompts_unknown_tag                case_prompts_unknown_tag
run_case prompts_position_target_out_of_range case_prompts_position_target_out_of_range
run_case prompts_position_target_self       case_prompts_position_target_self
run_case prompts_file_missing               case_prompts_file_missing
run_case check_missing_folder               case_check_missing_folder
run_case check_empty_folder                 case_check_empty_folder
run_case check_bad_pngs_partial             case_check_bad_pngs_partial
run_case check_malformed_metadata_partial   case_check_malformed_metadata_partial
run_case world_unknown_field                case_world_unknown_field
run_case world_color_near_background        case_world_color_near_background
run_case world_bad_type_canvas              case_world_bad_type_canvas
run_case world_bad_type_shapes              case_world_bad_type_shapes
run_case world_bad_rgb                      case_world_bad_rgb
run_case world_file_missing                 case_world_file_missing
run_case sample_n_zero                      case_sample_n_zero
run_case sample_unknown_split               case_sample_unknown_split
run_case render_unknown_mistake             case_render_unknown_mistake
run_case world_v2_splits                    case_world_v2_splits
run_case world_v2_size_swap                 case_world_v2_size_swap
run_case world_v2_move                      case_world_v2_move
run_case eval_cfg_grid_needs_validation     case_eval_cfg_grid_needs_validation
run_case base_small_v2_evaluates_on_its_world case_base_small_v2_evaluates_on_its_world
run_case dynamics_held_out                  case_dynamics_held_out
run_case improve_baselines                  case_improve_baselines
run_case improve_grpo                       case_improve_grpo
run_case results_variant_errors             case_results_variant_errors
run_case demo_bad_base                      case_demo_bad_base
run_case demo_rerun_needs_resume            case_demo_rerun_needs_resume
run_case janus_eval_geneval                 case_janus_eval_geneval
run_case janus_lora_improve                  case_janus_lora_improve

echo "# $((SECONDS - START)) s, work dir $WORK" >&2
echo "$N_PASS passed, $N_FAIL failed"
[ "$N_FAIL" -eq 0 ]
