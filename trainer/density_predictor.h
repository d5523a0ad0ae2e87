// A trained model turned into densities: every voxel of a grid predicted exactly once from full-coverage tiles, in
// batches, and stitched. Evaluation and `rhotrain predict` share it, so a prediction is what the evaluator scores.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "materials/material.h"
#include "models/density_transformer.h"
#include "sampler/v3_tokenizer.h"
#include "trainer/settings.h"

namespace rhotrain {

// Checks mode and decode against the model's objective; throws Error on a mismatch or an unknown name.
void check_eval_settings(const EvalSettings& s, bool causal);

// The predicted density of `m` on m.grid (e/Å³, C order), on the model's device. Only teacher_forced reads m.density;
// every other mode needs the structure alone (m.density may then hold anything of the right size). `model` null: the
// oracle, m's true density tokens decoded by the codec.
std::vector<float> predict_density(const Material& m, const V3Tokenizer& tokenizer, DensityTransformer* model,
                                   const EvalSettings& settings);

// A run's checkpoint loaded for prediction: its resolved settings, tokenizer (with the run's codec) and weights, the
// model in evaluation mode on the run's train.device, with its precision and attention.
struct TrainedModel {
  TrainedModel(const std::string& run_dir, const std::string& step);  // step: a number or "last"
  std::string checkpoint;
  RunSettings run;
  int64_t step;
  V3Tokenizer tokenizer;
  DensityTransformer model;
};

}  // namespace rhotrain
