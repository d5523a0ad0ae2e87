// Phase 0 of the weighting study: how many patches per epoch each training material gets under every weighting
// (M_i = T·w_i/Σw, and the integer counts of epoch 0), from the store's attributes alone — no grid is read.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "common/quantiles.h"
#include "materials/store.h"
#include "sampler/training_set.h"

namespace rhotrain {

// Above this electrons max:min ratio the preview warns that small-n_e materials get few patches.
constexpr double kBudgetWarnRatio = 30;

struct BudgetStats {
  Summary summary;
  std::optional<double> max_min_ratio;  // none when the minimum is 0
  size_t below_one = 0;                 // materials with fewer than one patch
};

struct WeightingBudget {
  std::string weighting;
  std::vector<double> expected;  // M_i per material
  BudgetStats expected_stats, epoch0_stats;
};

struct PatchBudget {
  std::string split;
  size_t materials = 0, epoch_size = 0;
  double patches_per_mat = 0;
  ElectronsFrom electrons_from = ElectronsFrom::sum_z;
  std::vector<WeightingBudget> weightings;  // in weighting_names() order
  bool warning = false;                     // electrons max:min above kBudgetWarnRatio (or unbounded)
};

// `spec` gives M̄, the electron count and the seed of epoch 0's allocation offset (its weighting is not used:
// every weighting is shown).
PatchBudget patch_budget(const MaterialStore& store, const std::string& split, const PlanSpec& spec);

// Writes the histogram of M_i for every weighting as SVG to `plot_path` (none when empty) and returns what
// `rhotrain preview` prints: a table and the warning line, or one JSON object.
std::string write_patch_budget_preview(const PatchBudget& budget, const std::string& plot_path, bool as_json);
// Where preview puts the histogram when not told: next to the store's first file.
std::string default_budget_plot_path(const MaterialStore& store, const std::string& split);

}  // namespace rhotrain
