#include "metrics/nmae.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "common/quantiles.h"
#include "metrics/arm_comparison.h"

namespace rhotrain {
namespace {

std::vector<double> column(const std::vector<MaterialScore>& s, double MaterialScore::*field) {
  std::vector<double> v;
  for (const auto& m : s) v.push_back(m.*field);
  return v;
}

std::vector<size_t> all(size_t n) {
  std::vector<size_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

}  // namespace

Interval not_available() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  return {nan, nan, nan};
}

bool available(const Interval& i) { return !std::isnan(i.value); }

std::array<double, 2> abs_error_sums(const float* predicted, const float* truth, size_t n) {
  double err = 0, norm = 0;
  for (size_t i = 0; i < n; ++i) {
    err += std::fabs(static_cast<double>(predicted[i]) - truth[i]);
    norm += std::fabs(static_cast<double>(truth[i]));
  }
  return {err, norm};
}

double per_mat_mean(const std::vector<double>& nmae) {
  double s = 0;
  for (double x : nmae) s += x;
  return s / static_cast<double>(nmae.size());
}

double per_electron(const std::vector<double>& nmae, const std::vector<double>& n_e) {
  double s = 0, sw = 0;
  for (size_t i = 0; i < nmae.size(); ++i) s += n_e[i] * nmae[i], sw += n_e[i];
  return s / sw;
}

std::vector<std::vector<size_t>> decile_groups(const std::vector<MaterialScore>& scores, int groups) {
  std::vector<size_t> order = all(scores.size());
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return scores[a].n_e != scores[b].n_e ? scores[a].n_e < scores[b].n_e : scores[a].id < scores[b].id;
  });
  std::vector<std::vector<size_t>> out(static_cast<size_t>(groups));
  const size_t n = scores.size(), base = n / groups, extra = n % groups;
  size_t k = 0;
  for (size_t g = 0; g < out.size(); ++g)
    for (size_t i = 0; i < base + (g < extra ? 1 : 0); ++i) out[g].push_back(order[k++]);
  return out;
}

Aggregates aggregate(const std::vector<MaterialScore>& scores) {
  if (scores.empty()) throw std::invalid_argument("aggregate of an empty set");
  const ArmSummary one_run = summarize_arm({scores});
  Aggregates a;
  a.per_mat_mean = one_run.per_mat_mean;
  a.per_electron = one_run.per_electron;
  a.deciles = one_run.deciles;
  const auto nmae = column(scores, &MaterialScore::nmae), ne = column(scores, &MaterialScore::n_e);
  a.median = quantile(nmae, 0.5);
  a.p99 = quantile(nmae, 0.99);
  const auto floor = column(scores, &MaterialScore::floor_nmae), base = column(scores, &MaterialScore::uniform_nmae);
  a.floor_per_mat_mean = per_mat_mean(floor);
  a.floor_per_electron = per_electron(floor, ne);
  a.uniform_per_mat_mean = per_mat_mean(base);
  a.uniform_per_electron = per_electron(base, ne);
  const auto atomic = column(scores, &MaterialScore::atomic_nmae);
  const bool atomic_known = std::none_of(atomic.begin(), atomic.end(), [](double x) { return std::isnan(x); });
  const double nan = std::numeric_limits<double>::quiet_NaN();
  a.atomic_per_mat_mean = per_mat_mean(atomic);  // NaN propagates: n/a
  a.atomic_per_electron = per_electron(atomic, ne);
  a.atomic_median = atomic_known ? quantile(atomic, 0.5) : nan;
  a.atomic_p99 = atomic_known ? quantile(atomic, 0.99) : nan;
  a.seam_ratio = per_mat_mean(column(scores, &MaterialScore::seam_ratio));
  const auto groups = decile_groups(scores, static_cast<int>(a.deciles.size()));
  for (size_t d = 0; d < a.deciles.size(); ++d) {
    std::vector<double> in_group;
    for (size_t i : groups[d]) in_group.push_back(atomic[i]);
    a.deciles[d].atomic_per_mat_mean = in_group.empty() ? nan : per_mat_mean(in_group);
  }
  return a;
}

}  // namespace rhotrain
