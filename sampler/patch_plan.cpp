#include "sampler/patch_plan.h"

#include <cmath>
#include <cstdio>
#include <numeric>

#include "common/error.h"
#include "common/random.h"

namespace rhotrain {
namespace {
// Stream tags keep the allocation offset, the origins and the shuffle independent of each other.
constexpr uint64_t kOffsetStream = 0x0ff5e7, kOriginStream = 0x0419145, kShuffleStream = 0x5a4ff1e;
}  // namespace

WeightingMode parse_weighting_mode(const std::string& s) {
  if (s == "sampling") return WeightingMode::sampling;
  if (s == "loss") return WeightingMode::loss;
  throw Error("weighting_mode must be sampling or loss, not '" + s + "'");
}

const char* weighting_mode_name(WeightingMode mode) { return mode == WeightingMode::loss ? "loss" : "sampling"; }

size_t patches_per_epoch(double patches_per_mat, size_t materials) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", patches_per_mat);
  if (!(patches_per_mat > 0) || !std::isfinite(patches_per_mat))
    throw Error(std::string("patches per material must be a positive number, not ") + text);
  const auto t = static_cast<size_t>(std::llround(patches_per_mat * static_cast<double>(materials)));
  if (t == 0)
    throw Error(std::string("patches per material ") + text + " × " + std::to_string(materials) +
                " materials rounds to an epoch of 0 patches");
  return t;
}

std::vector<double> expected_shares(const std::vector<double>& weights, size_t epoch_size) {
  const double sum_w = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<double> m(weights.size());
  for (size_t i = 0; i < m.size(); ++i) m[i] = static_cast<double>(epoch_size) * weights[i] / sum_w;
  return m;
}

double allocation_offset(uint64_t seed, uint64_t epoch) {
  return Rng(mix_seed(mix_seed(seed, kOffsetStream), epoch)).uniform();
}

std::vector<uint32_t> systematic_counts(const std::vector<double>& expected, double u) {
  // Points u, u+1, …, u+T−1 on the cumulative shares; material i receives those in [C_{i−1}, C_i).
  double total = 0;
  for (double m : expected) total += m;
  const double T = std::round(total);  // pins the last cumulative value so the total is exactly T
  std::vector<uint32_t> c(expected.size());
  double cum = 0, prev = std::ceil(-u);
  for (size_t i = 0; i < c.size(); ++i) {
    cum += expected[i];
    const double next = std::ceil((i + 1 == c.size() ? T : cum) - u);
    c[i] = static_cast<uint32_t>(std::max(0.0, next - prev));
    prev = std::max(prev, next);
  }
  return c;
}

PatchPlan::PatchPlan(std::vector<double> weights, std::vector<Grid> grids, double patches_per_mat, WeightingMode mode,
                     uint64_t seed)
    : weights_(std::move(weights)), grids_(std::move(grids)), mode_(mode), seed_(seed) {
  const size_t n = weights_.size();
  if (n == 0) throw Error("patch plan over zero materials (empty split?)");
  if (grids_.size() != n) throw Error("patch plan: weights and grids differ in length");
  for (double w : weights_)
    if (!(w > 0) || !std::isfinite(w)) throw Error("patch plan: every material weight must be positive and finite");
  epoch_size_ = patches_per_epoch(patches_per_mat, n);

  const bool sampling = mode_ == WeightingMode::sampling;
  expected_ = expected_shares(sampling ? weights_ : std::vector<double>(n, 1.0), epoch_size_);
  const double mean_w = std::accumulate(weights_.begin(), weights_.end(), 0.0) / static_cast<double>(n);
  loss_weight_.resize(n);
  for (size_t i = 0; i < n; ++i) loss_weight_[i] = sampling ? 1.0f : static_cast<float>(weights_[i] / mean_w);
}

std::vector<uint32_t> PatchPlan::counts(uint64_t epoch) const {
  return systematic_counts(expected_, allocation_offset(seed_, epoch));
}

std::vector<PlanEntry> PatchPlan::epoch(uint64_t epoch) const {
  const auto c = counts(epoch);
  std::vector<PlanEntry> entries;
  entries.reserve(epoch_size_);
  const uint64_t origin_seed = mix_seed(mix_seed(seed_, kOriginStream), epoch);
  for (uint32_t i = 0; i < c.size(); ++i) {
    Rng rng(mix_seed(origin_seed, i));  // per material, so origins do not depend on other materials' counts
    for (uint32_t k = 0; k < c[i]; ++k) {
      PlanEntry e{i, {}};
      for (int d = 0; d < 3; ++d) e.origin[d] = static_cast<int>(rng.below(static_cast<uint64_t>(grids_[i][d])));
      entries.push_back(e);
    }
  }
  Rng(mix_seed(mix_seed(seed_, kShuffleStream), epoch)).shuffle(entries);
  return entries;
}

}  // namespace rhotrain
