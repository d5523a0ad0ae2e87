// A run's training data in one place: the split's tokenizable materials, their patch source, weights
// and patch plan — built the same way by `train`, `tokenize` (bulk export) and the benchmarks.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "materials/atomic_density.h"
#include "materials/store.h"
#include "sampler/atom_grids.h"
#include "sampler/patch_plan.h"
#include "sampler/patch_source.h"
#include "sampler/v3_tokenizer.h"
#include "sampler/weighting.h"

namespace rhotrain {

struct PlanSpec {
  std::string weighting = "uniform";
  WeightingMode mode = WeightingMode::sampling;
  ElectronsFrom electrons_from = ElectronsFrom::sum_z;
  double patches_per_mat = 64;
  uint64_t seed = 0;
};

struct TrainingSet {
  std::vector<std::string> ids;  // tokenizable materials of the split, in split order
  SkipReport skipped;
  std::shared_ptr<const PatchSource> source;
  std::vector<double> weights;
  std::shared_ptr<const PatchPlan> plan;
  std::shared_ptr<const AtomGrids> atom_grids;  // the residual target's baseline; null for the density target
};

// Fits the LMQ codec on every voxel of a split, streaming one grid at a time (fit-codec and train share it): on ρ, or
// — given `residual_over` — a signed codec on the residuals ρ − ρ_atoms.
LmqCodec fit_codec_on_split(const MaterialStore& store, const std::string& split, int bins, int max_iterations = 30,
                            LloydReport* report = nullptr, const AtomicDensity* residual_over = nullptr);

// The split's tokenizable materials, weights and plan; with `residual_over`, also their ρ_atoms grids (kept up to
// `atom_grid_bytes`), and materials with an element the fit never saw are skipped.
TrainingSet load_training_set(std::shared_ptr<const MaterialStore> store, const std::string& split,
                              const V3Tokenizer& tokenizer, const PlanSpec& spec,
                              std::shared_ptr<const AtomicDensity> residual_over = nullptr, size_t atom_grid_bytes = 0);

}  // namespace rhotrain
