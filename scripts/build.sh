#!/usr/bin/env bash
# Installs the Debian packages (if missing) and builds rhotrain into build/ (incremental). A first build takes 5–10
# minutes on 2 cores; it prints each target as it is done, with CMake's percentage.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
if [ ! -x build/rhotrain ]; then echo "build: first build into build/ (5-10 minutes on 2 cores; each target is listed when done)"; fi
cmake --build build -j2 -- --no-print-directory | { grep --line-buffered -vE '^\[ *[0-9]+%\] (Building|Linking)|^Consolidate|^Scanning' || true; }
test -x build/rhotrain
