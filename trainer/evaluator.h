// Scores a model — or the oracle, which feeds the true density tokens through the same path — on a set of
// materials: full-coverage tiling, batched patch prediction, decoding, stitching, NMAE per material
// against the raw density, beside the codec floor and the two baselines (atomic and uniform densities).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "materials/store.h"
#include "metrics/eval_record.h"
#include "sampler/v3_tokenizer.h"
#include "trainer/density_predictor.h"
#include "trainer/settings.h"

namespace rhotrain {

class DensityTransformer;  // models/density_transformer.h
// Every set is a split of the store with at least one material the tokenizer takes: what a run checks before its
// first step, so that a typo in eval.sets cannot cost the steps up to the first evaluation.
void check_eval_sets(const MaterialStore& store, const std::vector<std::string>& sets, const DensityCoding& coding);

// Receives each scored material (its true density) and the grid predicted for it.
using PredictionSink = std::function<void(const Material& truth, const std::vector<float>& predicted)>;

// Runs on the model's device. `model` may be null only in oracle mode. Materials the tokenizer cannot take (or, for the
// residual target, with an element the atomic fit never saw) are reported in `skipped`. Prints a progress line every
// ten seconds; `stop`, asked before each material, abandons the evaluation (nothing is returned) when it says so. On
// several ranks each rank's sink sees the materials it scored.
std::optional<EvalRecord> evaluate_set(const MaterialStore& store, const std::string& set, const DensityCoding& coding,
                                       DensityTransformer* model, const EvalSettings& settings, int64_t step,
                                       SkipReport& skipped, const std::function<bool()>& stop = {},
                                       const PredictionSink& on_prediction = {});

// Where a run's evaluations of one split are recorded (step-N.json each), which is where compare finds them:
// RUN/eval/<split> on the run's own store, RUN/eval/<split>@<name> on another (<name>: its first file's stem).
std::string eval_record_dir(const std::string& run_dir, const std::string& split, const std::vector<std::string>& other_store);

// Which checkpoint of a run to evaluate where, and how: empty fields mean the run's own (its store, eval.mode,
// eval.decode); the patch, codec, eval.batch_size and train.threads are always the run's.
struct CheckpointEvalRequest {
  std::string run_dir, step = "last";  // a step number or "last"
  std::vector<std::string> stores;     // paths or globs
  std::string set = "val_200", mode, decode;
  int stride = -1;               // -1: the run's eval.stride
  PredictionSink on_prediction;  // optional
};
EvalRecord evaluate_checkpoint(const CheckpointEvalRequest& request, SkipReport& skipped);

// The oracle: the true density tokens through the same tiling, decoding and stitching path.
EvalRecord evaluate_oracle(const MaterialStore& store, const std::string& set, const DensityCoding& coding, int stride,
                           SkipReport& skipped);
// Throws Error when any material's oracle NMAE differs from its codec floor: a tiling or stitching bug.
void check_oracle_equals_floor(const EvalRecord& oracle);

}  // namespace rhotrain
