#!/usr/bin/env bash
# Configures and builds unigap (Release) into build/. Used by demo.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${UNIGAP_BUILD_DIR:-build}"
JOBS="${UNIGAP_JOBS:-$(nproc)}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$BUILD_DIR" -j "$JOBS"
