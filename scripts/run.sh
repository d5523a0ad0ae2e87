#!/usr/bin/env bash
# The main job on the built-in default data: install, build, generate data/default.h5 on first use
# (2000 train + 240 val synthetic crystals, seed 0), and summarise it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
STORE=data/default.h5
if [ ! -f "$STORE" ]; then
  build/rhotrain synth --out "$STORE" --n-train 2000 --n-val 240 --seed 0
else
  build/rhotrain info "$STORE"
fi
