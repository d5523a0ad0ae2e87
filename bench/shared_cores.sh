#!/usr/bin/env bash
# Training throughput when the machine's cores are shared: configs/smoke.yaml alone, beside a CPU hog (one busy loop),
# and as two trainings at once on the same cores. Prints sequences/s and each as a share of the alone rate.
# A fair share is 50 % beside one other busy process; the goal is at least 40 %. Not a test: its figures depend on the
# machine and on what else runs.   bash bench/shared_cores.sh [STEPS]   (default 400; env RHOTRAIN for another binary)
set -euo pipefail
cd "$(dirname "$0")/.."
rhotrain=${RHOTRAIN:-build/rhotrain}
steps=${1:-400}
scratch=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$scratch"' EXIT
test -f data/default.h5 || "$rhotrain" synth -o data/default.h5 >/dev/null 2>&1

# Sequences/s over the run, the first progress window (start-up, first allocations) left out.
train() {
  "$rhotrain" train --config configs/smoke.yaml --steps "$steps" --set train.log_every=50 ${BENCH_SET:-} --run-dir "$scratch/$1" 2>&1 |
    awk '/^step [0-9]+\/[0-9]+ \|/ { for (i = 1; i < NF; ++i) if ($(i + 1) == "seq/s") { if (n++) { sum += $i; k++ } } }
         END { if (k) printf "%.1f\n", sum / k; else print "nan" }'
}
share() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f %%", 100 * a / b }'; }

alone=$(train alone)
echo "alone:                       $alone seq/s ($(nproc) CPUs; the run says how many threads it took and why)"
sh -c 'while :; do :; done' &
hog=$!
hogged=$(train hog)
kill "$hog"
echo "beside a busy loop:          $hogged seq/s = $(share "$hogged" "$alone") of alone"
train first > "$scratch/first.rate" &
train second > "$scratch/second.rate"
wait
first=$(cat "$scratch/first.rate") second=$(cat "$scratch/second.rate")
echo "two trainings at once:       $first and $second seq/s = $(share "$first" "$alone") and $(share "$second" "$alone") of alone"
