// Scores a model — or the oracle, which feeds the true density tokens through the same path — on a set of
// materials: full-coverage tiling, batched patch prediction, decoding, stitching, NMAE per material
// against the raw density, beside the codec floor and the uniform-density baseline.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "materials/store.h"
#include "metrics/eval_record.h"
#include "sampler/v3_tokenizer.h"
#include "trainer/settings.h"

namespace rhotrain {

class DensityTransformer;  // models/density_transformer.h

// Checks mode and decode against the model's objective; throws Error on a mismatch or an unknown name.
void check_eval_settings(const EvalSettings& s, bool causal);

// Runs on the model's device. `model` may be null only in oracle mode. Materials the tokenizer cannot take are
// reported in `skipped`.
EvalRecord evaluate_set(const MaterialStore& store, const std::string& set, const V3Tokenizer& tokenizer,
                        DensityTransformer* model, const EvalSettings& settings, int64_t step, SkipReport& skipped);

// Which checkpoint of a run to evaluate where, and how: empty fields mean the run's own (its store, eval.mode,
// eval.decode); the patch, codec, eval.batch_size and train.threads are always the run's.
struct CheckpointEvalRequest {
  std::string run_dir, step = "last";  // a step number or "last"
  std::vector<std::string> stores;     // paths or globs
  std::string set = "val_200", mode, decode;
};
EvalRecord evaluate_checkpoint(const CheckpointEvalRequest& request, SkipReport& skipped);

// The oracle: the true density tokens through the same tiling, decoding and stitching path.
EvalRecord evaluate_oracle(const MaterialStore& store, const std::string& set, const V3Tokenizer& tokenizer,
                           SkipReport& skipped);
// Throws Error when any material's oracle NMAE differs from its codec floor: a tiling or stitching bug.
void check_oracle_equals_floor(const EvalRecord& oracle);

}  // namespace rhotrain
