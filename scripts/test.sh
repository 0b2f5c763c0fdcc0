#!/usr/bin/env bash
# The README's second command: install what is needed, build, run the whole test
# suite through CTest, then a short libFuzzer run of every fuzz target and the whole
# suite again under AddressSanitizer + UndefinedBehaviorSanitizer. Exits non-zero on
# any failure (CI calls exactly this). UNIGAP_TEST_QUICK=1 skips the fuzz and
# sanitizer steps (for a quick local loop; CI never sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
./build/unigap --version
(cd build && ctest --output-on-failure --no-tests=error -j "$(nproc)" "$@")
if [[ "${UNIGAP_TEST_QUICK:-0}" == 1 ]]; then
  echo "[test] UNIGAP_TEST_QUICK=1: fuzz and sanitizer steps skipped"
  exit 0
fi
echo "[test] short fuzz run (10 s per target)"
bash scripts/fuzz.sh 10
echo "[test] the suite under ASan + UBSan"
bash scripts/sanitize.sh "$@"
