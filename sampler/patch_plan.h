// The patch plan: which (material, origin) pairs each epoch trains on, in which order.
// A pure function of (seed, epoch): any position of the stream can be recomputed, so runs resume exactly.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "materials/material.h"

namespace rhotrain {

enum class WeightingMode { sampling, loss };
WeightingMode parse_weighting_mode(const std::string& s);
const char* weighting_mode_name(WeightingMode mode);

struct PlanEntry {
  uint32_t material;  // index into the plan's material list
  Grid origin;
};

// The allocation pieces, also used on their own by the Phase 0 preview (which reads no grids):
// T = round(M̄·N); M_i = T·w_i/Σw; the epoch's offset u; and systematic allocation of T = ΣM_i patches with offset u.
// patches_per_epoch throws Error when M̄ is not positive or T rounds to zero.
size_t patches_per_epoch(double patches_per_mat, size_t materials);
std::vector<double> expected_shares(const std::vector<double>& weights, size_t epoch_size);
double allocation_offset(uint64_t seed, uint64_t epoch);
std::vector<uint32_t> systematic_counts(const std::vector<double>& expected, double u);

class PatchPlan {
 public:
  // weights w_i > 0 and grid sizes per material; patches_per_mat = M̄ (epoch size T = round(M̄·N)).
  PatchPlan(std::vector<double> weights, std::vector<Grid> grids, double patches_per_mat, WeightingMode mode,
            uint64_t seed);

  size_t materials() const { return weights_.size(); }
  size_t epoch_size() const { return epoch_size_; }
  WeightingMode mode() const { return mode_; }
  uint64_t seed() const { return seed_; }

  // Real-valued expected patches per epoch, M_i = T·w_i/Σw (sampling mode) or M̄ (loss mode).
  const std::vector<double>& expected_counts() const { return expected_; }
  // Integer counts of one epoch by systematic allocation: one seeded offset u over the cumulative shares;
  // each material gets ⌊M_i⌋ or ⌈M_i⌉, the total is exactly T, and E[count_i] = M_i.
  std::vector<uint32_t> counts(uint64_t epoch) const;
  // The epoch's entries: counts(epoch) patches per material at uniform periodic origins, shuffled.
  std::vector<PlanEntry> epoch(uint64_t epoch) const;
  // Per-sequence loss weight: 1 in sampling mode, w_i / mean(w) in loss mode.
  float loss_weight(uint32_t material) const { return loss_weight_[material]; }

 private:
  std::vector<double> weights_;
  std::vector<Grid> grids_;
  WeightingMode mode_;
  uint64_t seed_;
  size_t epoch_size_;
  std::vector<double> expected_;
  std::vector<float> loss_weight_;
};

}  // namespace rhotrain
