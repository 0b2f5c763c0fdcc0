#!/usr/bin/env bash
# The README's first command: install what is needed, build, run `unigap demo`.
# Extra arguments go to `unigap demo` (e.g. --quick, --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
./build/unigap --version
./build/unigap demo "$@"
