#!/usr/bin/env bash
# The README's second command: install what is needed, build, run the whole test
# suite through CTest. Exits non-zero on any failure (CI calls exactly this).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
./build/unigap --version
cd build
ctest --output-on-failure --no-tests=error -j "$(nproc)" "$@"
