#!/usr/bin/env bash
# The GPU path, checked and measured in one go on a CUDA machine (README, "Training on a GPU"): build against the
# machine's PyTorch LibTorch (scripts/gpu-build.sh, packages from scripts/gpu-deps.sh), the model tests on the device,
# training throughput of the 30M and 200M presets at P=19 in fp32 and bf16 with fused and explicit attention, the
# val_200 evaluation time, and a 200-step bf16 run of the tiny preset against fp32. Logs go to gpu-check/ and, when
# $OUT names a folder, as one gpu-check-logs.tar.gz with table.txt into it; the table comes last. Stops starting new measurements after GPU_CHECK_BUDGET_S seconds (default 400).
# GPU_CHECK_REHEARSE=1 walks the same steps on a CPU machine with build/rhotrain, the tiny preset and two steps a case
# (no GPU tests, no evaluation), so the script itself is checked before a GPU's time is spent on it.
set -uo pipefail
cd "$(dirname "$0")/.."
COPY_TO=${OUT:-}
OUT=gpu-check
rm -rf "$OUT" && mkdir -p "$OUT"
# Whatever happens, the logs (the build's own included) reach $OUT as one archive beside the table.
pack_logs() {
  [ -n "$COPY_TO" ] || return 0
  for f in configure build; do [ -f "build-gpu/$f.log" ] && cp "build-gpu/$f.log" "$OUT/build-gpu-$f.log"; done
  [ -f "$OUT/table.txt" ] && cp "$OUT/table.txt" "$COPY_TO/"
  tar czf "$COPY_TO/gpu-check-logs.tar.gz" "$OUT"
}
trap pack_logs EXIT
BUDGET=${GPU_CHECK_BUDGET_S:-400}
T0=$(date +%s)
elapsed() { echo $(( $(date +%s) - T0 )); }
say() { echo "[gpu-check $(elapsed)s] $*" >&2; }
RESULTS="$OUT/results.tsv"
printf 'case\tpreset\tprecision\tattention\tbatch\ttok/s\tGFLOP/s\tMFU%%\tpeak GiB\tdata wait %%\n' > "$RESULTS"

# ---- machine
{ nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv 2>&1
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))' 2>&1
  nproc; } > "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2
CARD=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
# Dense bf16 peak of the card by its datasheet (H100 and H200 SXM share the tensor cores): MFU's denominator.
PEAK_TFLOPS=${PEAK_TFLOPS:-989.4}

# ---- build
REHEARSE=${GPU_CHECK_REHEARSE:-0}
TESTS_RC=skipped
if [ "$REHEARSE" = 1 ]; then
  BIN=${GPU_CHECK_REHEARSE_BIN:-build/rhotrain}  # a command line: a LibTorch 2.x binary may need its own loader
  REHEARSAL=(--set train.device=cpu --set model.preset=tiny)
  say "rehearsal on the CPU with $BIN"
else
  REHEARSAL=()
  say "building (log $OUT/build.log)"
  if ! bash scripts/gpu-build.sh rhotrain dataset_tests > "$OUT/build.log" 2>&1; then
    # The allocator's header is the one CUDA-only header we include: without it the log lacks peak memory, no more.
    built=0
    if grep -q torch_compat build-gpu/build.log 2>/dev/null; then
      say "the build failed in models/torch_compat.cpp: again without the peak-memory figure"
      cp build-gpu/build.log "$OUT/build-first-try.log"
      EXTRA_CMAKE_ARGS=-DRHOTRAIN_CUDA_MEMORY_STATS=OFF bash scripts/gpu-build.sh rhotrain dataset_tests > "$OUT/build.log" 2>&1 && built=1
    fi
    [ $built = 1 ] || { tail -40 "$OUT/build.log"; echo "gpu-check: the build failed (full log: $OUT/build.log)"; exit 1; }
  fi
  # shellcheck disable=SC1091
  source build-gpu/env.sh
  BIN=build-gpu/rhotrain
  say "built: $($BIN --version 2>&1 | head -1)"

  # ---- the model on the device against the CPU (and the CPU-side checks, on this LibTorch)
  say "tests (log $OUT/tests.log)"
  build-gpu/tests/dataset_tests --gtest_filter='Cuda.*:FusedAttention.*:Bf16Autocast.*:Geometry.*:DensityTransformer.*:CausalDecoding.*' \
    > "$OUT/tests.log" 2>&1
  TESTS_RC=$?
  grep -E '^\[  (PASSED|FAILED|SKIPPED) |^\[==========\]' "$OUT/tests.log" >&2
fi

# ---- data: the synthetic default data at a size that fits the lease (300 training crystals, val_200)
DATA=data/gpu-check.h5
[ -f "$DATA" ] || $BIN synth -o "$DATA" --n-train 300 --n-val 200 --threads "$(nproc)" > "$OUT/synth.log" 2>&1

# One training run: CASE PRESET PRECISION ATTENTION BATCH STEPS; the last log window's throughput goes to the table.
train_case() {
  local name=$1 preset=$2 precision=$3 attention=$4 batch=$5 steps=$6 run="runs/gpu-check/$1"
  [ "$REHEARSE" = 1 ] && steps=2 batch=1
  if [ "$(elapsed)" -gt "$BUDGET" ]; then say "skipping $name: past the ${BUDGET}s budget"; return; fi
  say "train $name: $preset $precision $attention batch $batch, $steps steps"
  rm -rf "$run"
  timeout 150 $BIN train --config "configs/gpu_$preset.yaml" --run-dir "$run" --steps "$steps" \
    --set "data.store=[$DATA]" --set train.precision="$precision" --set train.attention="$attention" \
    --set train.batch_size="$batch" --set train.warmup=2 --set train.log_every=$((steps / 2)) \
    --set 'eval.sets=[]' --set checkpoint.every=100000 --set data.workers=8 "${REHEARSAL[@]}" > "$OUT/train-$name.log" 2>&1
  local rc=$? line
  line=$(grep -E '^step [0-9]+/' "$OUT/train-$name.log" | tail -1)
  if [ $rc -ne 0 ] || [ -z "$line" ]; then
    local why; why=$(grep -m1 -iE 'out of memory|error' "$OUT/train-$name.log" | sed 's/^rhotrain train: error: //' | cut -c1-90)
    printf '%s\t%s\t%s\t%s\t%s\tfailed (rc %s): %s\n' "$name" "$preset" "$precision" "$attention" "$batch" "$rc" "$why" >> "$RESULTS"
    return
  fi
  echo "$line" | awk -v n="$name" -v p="$preset" -v pr="$precision" -v a="$attention" -v b="$batch" -v peak="$PEAK_TFLOPS" -F' [|] ' '
    { for (i = 1; i <= NF; i++) {
        if ($i ~ / tok\/s$/) { split($i, x, " "); tok = x[1] }
        if ($i ~ / GFLOP\/s$/) { split($i, x, " "); gf = x[1] }
        if ($i ~ /^data wait/) { split($i, x, " "); w = x[3]; sub("%", "", w) }
        if ($i ~ /^peak memory/) { split($i, x, " "); mem = x[3] } }
      printf "%s\t%s\t%s\t%s\t%s\t%.0f\t%.0f\t%.1f\t%s\t%s\n", n, p, pr, a, b, tok, gf, 100 * gf / 1000 / peak, mem, w }' >> "$RESULTS"
}

# A case that failed (out of memory, say) is tried once more at half the batch.
train_case_or_half() {
  train_case "$@"
  if tail -1 "$RESULTS" | grep -q "^$1"$'\t'".*failed" && [ "$5" -gt 1 ]; then train_case "$1-b$(($5 / 2))" "$2" "$3" "$4" $(($5 / 2)) "$6"; fi
}

# Evaluation of val_200 at P=19 on the GPU with a run's weights; its wall time goes in the table.
eval_case() {
  local run=$1 mode=$2
  [ -d "runs/gpu-check/$run/checkpoints" ] && [ "$REHEARSE" != 1 ] || return
  if [ "$(elapsed)" -gt "$BUDGET" ]; then say "skipping eval $mode: past the ${BUDGET}s budget"; return; fi
  say "eval $run $mode"
  /usr/bin/time -f '%e' -o "$OUT/eval-$run-$mode.seconds" $BIN eval --run "runs/gpu-check/$run" --split val_200 --mode "$mode" \
    > "$OUT/eval-$run-$mode.log" 2>&1 || true
}

# bf16 against fp32: 200 steps of the tiny preset (P=6, the smoke config) on the GPU, same seed and data.
tiny_case() {
  local precision=$1
  if [ "$(elapsed)" -gt "$BUDGET" ]; then say "skipping tiny $precision: past the ${BUDGET}s budget"; return; fi
  say "tiny $precision, 200 steps"
  rm -rf "runs/gpu-check/tiny-$precision"
  timeout 120 $BIN train --config configs/smoke.yaml --run-dir "runs/gpu-check/tiny-$precision" --steps 200 \
    --set "data.store=[$DATA]" --set train.device=cuda --set train.precision="$precision" --set train.log_every=10 \
    --set 'eval.sets=[]' --set checkpoint.every=100000 "${REHEARSAL[@]}" > "$OUT/tiny-$precision.log" 2>&1 || true
}

# Most important first: the budget may cut the tail.
train_case_or_half 200M-bf16-fused 200M bf16 fused 8 30
train_case_or_half 30M-bf16-fused 30M bf16 fused 8 40
eval_case 30M-bf16-fused maskgit:1
tiny_case fp32
tiny_case bf16
train_case_or_half 200M-fp32-fused 200M fp32 fused 4 12
train_case_or_half 30M-fp32-fused 30M fp32 fused 8 20
train_case_or_half 30M-bf16-explicit 30M bf16 explicit 2 16
train_case_or_half 200M-bf16-explicit 200M bf16 explicit 1 10
eval_case 30M-bf16-fused maskgit:4

# ---- the table
{
  echo
  echo "== gpu-check on $CARD ($(elapsed) s); MFU = perf GFLOP/s / ${PEAK_TFLOPS} TFLOP/s dense bf16"
  echo "   (FLOPs per step = 3 x forward_flops(L) x batch; forward_flops = 2 x (layers x (L d (2 H dh + 2 KV dh) + 2 L^2 H dh + 3 L d ffn) + P^3 d bins))"
  column -t -s $'\t' "$RESULTS"
  echo
  for f in "$OUT"/eval-*.seconds; do
    [ -f "$f" ] || continue
    echo "$(basename "$f" .seconds): val_200 in $(tail -1 "$f") s wall, $(grep -m1 -E '^eval val_200 step' "${f%.seconds}.log" | cut -c1-100); $(grep -m1 -E 'per-material mean' "${f%.seconds}.log" | tr -s ' ')"
  done
  if [ -f "$OUT/tiny-fp32.log" ] && [ -f "$OUT/tiny-bf16.log" ]; then
    for p in fp32 bf16; do
      grep -oE '^step [0-9]+/200 \| loss [0-9.]+' "$OUT/tiny-$p.log" | awk '{ sub("/200", "", $2); print $2, $5 }' > "$OUT/tiny-$p.loss"
    done
    awk 'NR == FNR { fp32[$1] = $2; next } ($1 in fp32) { d = ($2 - fp32[$1]) / fp32[$1]; if (d < 0) d = -d
           if (d > worst) worst = d; n++; last = $1 " " fp32[$1] " " $2 }
           END { if (n) printf "tiny, bf16 vs fp32 loss at %d logged steps: largest relative gap %.2f%%; last (step fp32 bf16): %s\n", n, 100 * worst, last }' \
      "$OUT/tiny-fp32.loss" "$OUT/tiny-bf16.loss"
  fi
  [ -f "$OUT/tests.log" ] && echo "GPU tests: $(grep -E '^\[  PASSED  \]|^\[  FAILED  \]' "$OUT/tests.log" | tr '\n' ' ') (rc $TESTS_RC)"
} | tee "$OUT/table.txt"
