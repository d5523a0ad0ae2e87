#!/usr/bin/env bash
# The main job: install, build, and run the whole weighting study on real DFT densities — data/qe/qe.h5, 404 Quantum
# ESPRESSO valence densities of small crystals: the atomic-density baseline and the codec fitted on its train split,
# Phase 0 preview, Phase 1 (uniform) and Phase 2 (electrons) training of the residual over the atomic baseline, two
# seeds each, with in-loop evaluation on its val split, the comparison report (runs/qe/report.md) and the models scored
# on the real-DFT fixtures. About 20 minutes here (2 cores) after the build. The same study on the built-in synthetic
# data: build/rhotrain experiment --config configs/experiment.yaml --out runs/experiment
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
build/rhotrain experiment --config configs/qe.yaml --out runs/qe
