#include "common/quantiles.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace rhotrain {

double quantile(std::vector<double> values, double q) {
  if (values.empty()) throw Error("quantile of an empty list");
  std::sort(values.begin(), values.end());
  const double pos = q * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (pos - static_cast<double>(lo));
}

Summary summarize(const std::vector<double>& values) {
  return {quantile(values, 0.0), quantile(values, 0.1), quantile(values, 0.5), quantile(values, 0.9),
          quantile(values, 1.0)};
}

}  // namespace rhotrain
