#!/usr/bin/env bash
# Builds unigap with AddressSanitizer + UndefinedBehaviorSanitizer into build-asan/ and runs
# the test suite there. Exits non-zero on any failure or sanitizer report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1"   # libtorch's static caches look like leaks
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUNIGAP_SANITIZE=ON -DUNIGAP_BUILD_BENCH=OFF
cmake --build build-asan -j "$(nproc)"
cd build-asan
ctest --output-on-failure --no-tests=error -j "$(nproc)" "$@"
