#!/usr/bin/env bash
# The whole test suite: install dependencies, build everything, run every GoogleTest suite through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd build
ctest --output-on-failure -j2
