#include "metrics/bootstrap.h"

#include <cmath>
#include <numeric>
#include <stdexcept>

#include "common/quantiles.h"
#include "common/random.h"

namespace rhotrain {
namespace {

// Σ over groups of sign × mean over `seeds` of the weighted mean over the group's `draws` (column indices).
double statistic(const SeedTable& t, bool inflated, const std::vector<size_t>& seeds,
                 const std::vector<std::vector<size_t>>& draws, const std::vector<MaterialGroup>& groups,
                 const std::vector<double>& weights) {
  double total = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    double num = 0, weight = 0;
    for (size_t s : seeds)
      for (size_t j : draws[g]) num += (weights.empty() ? 1.0 : weights[j]) * (inflated ? t.inflated(s, j) : t.at(s, j));
    for (size_t j : draws[g]) weight += weights.empty() ? 1.0 : weights[j];
    total += groups[g].sign * (num / (static_cast<double>(seeds.size()) * weight));
  }
  return total;
}

}  // namespace

SeedTable::SeedTable(std::vector<std::vector<double>> rows) : rows_(std::move(rows)) {
  if (rows_.empty() || rows_.front().empty()) throw std::invalid_argument("a seed table needs at least one seed and one material");
  for (const auto& r : rows_)
    if (r.size() != rows_.front().size()) throw std::invalid_argument("every seed of a seed table needs the same materials");
  inflated_ = rows_;
  const size_t k = rows_.size();
  if (k < 2) return;
  const double scale = std::sqrt(static_cast<double>(k) / static_cast<double>(k - 1));
  for (size_t j = 0; j < materials(); ++j) {
    double mean = 0;
    for (size_t s = 0; s < k; ++s) mean += rows_[s][j];
    mean /= static_cast<double>(k);
    for (size_t s = 0; s < k; ++s) inflated_[s][j] = mean + scale * (rows_[s][j] - mean);
  }
}

std::vector<MaterialGroup> every_material(size_t n) {
  MaterialGroup g;
  g.columns.resize(n);
  std::iota(g.columns.begin(), g.columns.end(), size_t{0});
  return {g};
}

Interval two_level_bootstrap(const SeedTable& table, const std::vector<MaterialGroup>& groups,
                             const std::vector<double>& weights, uint64_t stream) {
  const size_t k = table.seeds();
  std::vector<size_t> seeds(k);
  std::iota(seeds.begin(), seeds.end(), size_t{0});
  std::vector<std::vector<size_t>> draws;
  for (const auto& g : groups) draws.push_back(g.columns);
  const double estimate = statistic(table, false, seeds, draws, groups, weights);
  Interval out{estimate, estimate, estimate};
  // One run and one material: nothing to resample.
  if (k == 1 && groups.size() == 1 && groups[0].columns.size() < 2) return out;

  Rng rng(mix_seed(kBootstrapSeed, stream));
  std::vector<double> stats(kBootstrapResamples);
  for (auto& value : stats) {
    if (k > 1)
      for (auto& s : seeds) s = rng.below(k);
    for (size_t g = 0; g < groups.size(); ++g)
      for (auto& j : draws[g]) j = groups[g].columns[rng.below(groups[g].columns.size())];
    value = statistic(table, true, seeds, draws, groups, weights);
  }
  out.lo = quantile(stats, 0.025);
  out.hi = quantile(stats, 0.975);
  return out;
}

}  // namespace rhotrain
