#!/usr/bin/env bash
# The main job on the built-in default data: install, build, generate data/default.h5 on first use
# (2000 train + 240 val synthetic crystals, seed 0), summarise it, fit the 256-bin LMQ codec and
# run Phase 0 (the patch budget per material under uniform and electron weighting).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
STORE=data/default.h5
CODEC=data/default.codec-train-256.h5
if [ ! -f "$STORE" ]; then
  build/rhotrain synth --out "$STORE" --n-train 2000 --n-val 240 --seed 0
else
  build/rhotrain info "$STORE"
fi
[ -f "$CODEC" ] || build/rhotrain fit-codec --store "$STORE" --bins 256 -o "$CODEC"
build/rhotrain preview --store "$STORE" --patches-per-mat 64
