// A trained model turned into densities: every voxel of a grid predicted exactly once from full-coverage tiles, in
// batches, and stitched. Evaluation and `rhotrain predict` share it, so a prediction is what the evaluator scores.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "materials/atomic_density.h"
#include "materials/material.h"
#include "models/density_transformer.h"
#include "sampler/v3_tokenizer.h"
#include "trainer/settings.h"

namespace rhotrain {

// Checks mode and decode against the model's objective; throws Error on a mismatch or an unknown name.
void check_eval_settings(const EvalSettings& s, bool causal);

// How a run's densities become tokens and are scored: the tokenizer with its codec, the atomic-density fit (the
// baseline every evaluation reports; null for a run made before it existed) and whether the density tokens encode
// the residual ρ − ρ_atoms (then the model also sees ρ_atoms, and decoded residuals are added back to it).
struct DensityCoding {
  V3Tokenizer tokenizer;
  std::shared_ptr<const AtomicDensity> atoms;
  bool residual = false;

  // The fit the density tokens are residuals over (which decides the materials the coding can take), or null.
  const AtomicDensity* residual_over() const { return residual ? atoms.get() : nullptr; }
};

// ρ_atoms on m's grid, or nothing when the coding has no atomic fit or the fit never saw one of m's elements.
std::vector<float> atomic_grid(const MaterialMeta& m, const DensityCoding& coding);

// The predicted density of `m` on m.grid (e/Å³, C order), on the model's device. Only teacher_forced reads m.density;
// every other mode needs the structure alone (m.density may then hold anything of the right size). `model` null: the
// oracle, m's true density tokens decoded by the codec. `atoms` is ρ_atoms on m.grid, which the residual target needs.
std::vector<float> predict_density(const Material& m, const DensityCoding& coding, DensityTransformer* model,
                                   const EvalSettings& settings, const std::vector<float>& atoms = {});

// A run's store paths as seen from here: a relative path that does not exist from the current folder is looked for
// from the run directory and each folder above it — where training ran, for a run kept below it (runs/qe/…) — so a run
// evaluates from any folder. Paths found nowhere are returned as they are, for the reader to name.
std::vector<std::string> resolve_run_stores(const std::string& run_dir, const std::vector<std::string>& stores);

// A run's checkpoint loaded for prediction: its resolved settings, coding (the run's codec and atomic-density fit) and
// weights, the model in evaluation mode on the run's train.device, with its precision and attention; its stores resolved
// from here (resolve_run_stores).
struct TrainedModel {
  TrainedModel(const std::string& run_dir, const std::string& step);  // step: a number or "last"
  std::string checkpoint;
  RunSettings run;
  int64_t step;
  DensityCoding coding;
  DensityTransformer model;
};

}  // namespace rhotrain
