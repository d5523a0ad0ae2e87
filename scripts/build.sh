#!/usr/bin/env bash
# Installs the Debian packages (if missing) and builds rhotrain into build/ (incremental).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2 -- --no-print-directory | { grep -vE '^\[ *[0-9]+%\] (Building|Linking|Built)|^Consolidate|^Scanning' || true; }
test -x build/rhotrain
