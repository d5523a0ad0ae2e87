// Order statistics shared by the summaries (store info, patch-budget preview, metrics tables).
// Quantiles interpolate linearly between order statistics, as numpy's default method does.
#pragma once
#include <vector>

namespace rhotrain {

// q in [0, 1]; `values` need not be sorted. Throws Error on an empty input.
double quantile(std::vector<double> values, double q);

struct Summary {
  double min = 0, p10 = 0, p50 = 0, p90 = 0, max = 0;
};
Summary summarize(const std::vector<double>& values);

}  // namespace rhotrain
