#!/usr/bin/env bash
# The main job: install, build, and run the whole weighting study on the built-in default data —
# generate data/default.h5 if missing (2000 train + 240 val synthetic crystals), Phase 0 preview,
# Phase 1 (uniform) and Phase 2 (electrons) training, two seeds each, with in-loop evaluation on val_200, the
# comparison report (runs/experiment/report.md) and the models scored on the real-DFT fixtures. About 17 minutes
# here (2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
build/rhotrain experiment --config configs/experiment.yaml --out runs/experiment
