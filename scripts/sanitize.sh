#!/usr/bin/env bash
# Builds unigap with AddressSanitizer + UndefinedBehaviorSanitizer (gcc) into build-asan/
# and runs the test suite there, all but report_chromium (label `report`: `demo --quick` and a
# headless Chromium; each step of the demo runs under the sanitizers in cli_tests and the model
# tests, Chromium is not ours, and it was the longest test of CI's longest step; the plain build
# runs it), and the two 10,000-render oracle agreement tests (statistics over renders, 17 s and
# 10 s in the plain build and several times that here; the oracle's code runs under the
# sanitizers in the deliberate-mistake, junk and shape tests). Exits non-zero on any failure or
# sanitizer report.
# -O1 -g1: line tables are enough for readable reports and keep the torch-heavy objects
# small; asserts stay on (no NDEBUG).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# detect_leaks=0: libtorch keeps process-lifetime caches that LeakSanitizer reports as leaks
# (the fuzz targets, which do not link libtorch, run with leak detection on).
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Sanitize -DCMAKE_CXX_FLAGS_SANITIZE="-O1 -g1" \
  -DUNIGAP_SANITIZE=ON -DUNIGAP_BUILD_BENCH=OFF
cmake --build build-asan -j "$(nproc)"
cd build-asan
ctest --output-on-failure --no-tests=error -j "$(nproc)" -LE '^report$' -E 'AgreesWithSceneTruthOn10000' "$@"
