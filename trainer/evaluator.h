// Scores a model — or the oracle, which feeds the true density tokens through the same path — on a set of
// materials: full-coverage tiling, batched patch prediction, decoding, stitching, NMAE per material
// against the raw density, beside the codec floor and the uniform-density baseline.
#pragma once
#include <torch/torch.h>

#include <string>

#include "materials/store.h"
#include "metrics/eval_record.h"
#include "models/density_transformer.h"
#include "sampler/v3_tokenizer.h"
#include "sampler/weighting.h"

namespace rhotrain {

struct EvalSettings {
  std::string mode = "maskgit:1";  // maskgit:K (masked models) | teacher_forced (causal) | oracle
  std::string decode = "median";   // median | mean | argmax of each voxel's predicted distribution
  int batch = 64;                  // patches per forward pass
  ElectronsFrom electrons_from = ElectronsFrom::sum_z;
};

// Checks mode/decode against the model's objective; throws Error on a mismatch or an unknown name.
void check_eval_settings(const EvalSettings& s, const DensityTransformer* model);

// `model` may be null only in oracle mode. Materials the tokenizer cannot take are reported in `skipped`.
EvalRecord evaluate_set(const MaterialStore& store, const std::string& set, const V3Tokenizer& tokenizer,
                        DensityTransformer* model, const EvalSettings& settings, torch::Device device, int64_t step,
                        SkipReport& skipped);

}  // namespace rhotrain
