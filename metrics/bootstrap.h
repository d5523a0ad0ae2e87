// The percentile bootstrap behind every interval of the study, over a table of K training seeds × n materials:
// one run (K = 1) resamples materials; K runs per arm resample seeds, then materials (a two-level bootstrap).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "metrics/nmae.h"

namespace rhotrain {

// One quantity (a material's NMAE, or a paired difference) per training seed and material: rows are seeds, every
// row the same materials in the same order.
class SeedTable {
 public:
  explicit SeedTable(std::vector<std::vector<double>> rows);
  size_t seeds() const { return rows_.size(); }
  size_t materials() const { return rows_.front().size(); }
  double at(size_t seed, size_t material) const { return rows_[seed][material]; }
  // The row the bootstrap draws from: each seed's deviation from the materials' across-seed mean scaled by
  // sqrt(K / (K − 1)), so that the resampled K-seed mean has the unbiased between-seed variance s²/K (plain
  // resampling of K rows gives (K − 1)/K of it: half, for K = 2). K = 1: the row itself.
  double inflated(size_t seed, size_t material) const { return inflated_[seed][material]; }

 private:
  std::vector<std::vector<double>> rows_, inflated_;
};

// A group of materials (column indices) entering a statistic with a sign: the statistic is the sum over groups of
// sign × (mean over seeds of the `weights`-weighted mean over the group's materials).
struct MaterialGroup {
  std::vector<size_t> columns;
  double sign = 1;
};

// The statistic on all the data, and its 95 % percentile interval over kBootstrapResamples resamples, each drawing
// K seeds with replacement (none when K = 1) and then, within each group, as many materials with replacement. One
// material draw serves every drawn seed: seeds and materials are crossed, as in Owen's "pigeonhole" bootstrap, whose
// variance is conservative (the seed × material interaction is counted at both levels). `stream` picks the fixed
// random stream, so the interval is a pure function of the data. Empty `weights`: every material weighs 1.
Interval two_level_bootstrap(const SeedTable& table, const std::vector<MaterialGroup>& groups,
                             const std::vector<double>& weights, uint64_t stream);

// All n materials as one group.
std::vector<MaterialGroup> every_material(size_t n);

}  // namespace rhotrain
