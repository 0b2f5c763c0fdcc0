#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, torch-free core) into build-fuzz/
# and runs each for SECONDS (default 30) on a copy of its seed corpus (fuzz/corpus/<target>).
# Exits non-zero if any target crashes, leaks, hits UB or an uncaught exception; the
# crashing input is left in build-fuzz/artifacts/.
#   bash scripts/fuzz.sh            # the short run of CI (scripts/test.sh)
#   bash scripts/fuzz.sh 600        # the long run (docs/reliability.md)
#   bash scripts/fuzz.sh 600 png    # some targets only
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-30}
TARGETS=(safetensors png metadata world_config model_config torch_checkpoint hf_tokenizer)
if (($# > 1)); then TARGETS=("${@:2}"); fi
command -v clang++ > /dev/null || { echo "fuzz.sh: clang++ not found (scripts/setup.sh installs clang)" >&2; exit 1; }
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUNIGAP_FUZZ=ON \
  -DCMAKE_CXX_COMPILER=clang++ > build-fuzz.log 2>&1 || { cat build-fuzz.log >&2; exit 1; }
cmake --build build-fuzz -j "$(nproc)" >> build-fuzz.log 2>&1 || { tail -50 build-fuzz.log >&2; exit 1; }
rm -f build-fuzz.log
mkdir -p build-fuzz/artifacts
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
status=0
for t in "${TARGETS[@]}"; do
  work="build-fuzz/corpus-$t"
  rm -rf "$work"; mkdir -p "$work"
  cp fuzz/corpus/"$t"/* "$work"/
  log="build-fuzz/fuzz_$t.log"
  if ./build-fuzz/fuzz/fuzz_"$t" "$work" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
       -max_len=65536 -artifact_prefix=build-fuzz/artifacts/"$t"- -print_final_stats=1 > "$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
    printf 'fuzz %-13s ok: %s inputs in %ss, coverage %s edges, corpus %s files\n' "$t" "$runs" "$SECONDS_PER_TARGET" "$cov" "$(ls "$work" | wc -l)"
  else
    echo "fuzz $t FAILED (log: $log):" >&2
    grep -E "ERROR|runtime error|terminate|SUMMARY|Test unit written" "$log" | head -20 >&2
    status=1
  fi
done
exit $status
