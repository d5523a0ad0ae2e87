#include "metrics/nmae.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "common/quantiles.h"
#include "common/random.h"

namespace rhotrain {
namespace {

// Percentile bootstrap: `statistic` evaluated on `resamples` index draws of size n, 2.5 % and 97.5 %.
Interval bootstrap(size_t n, uint64_t stream, double estimate,
                   const std::function<double(const std::vector<size_t>&)>& statistic) {
  Interval out{estimate, estimate, estimate};
  if (n < 2) return out;
  Rng rng(mix_seed(kBootstrapSeed, stream));
  std::vector<double> stats(kBootstrapResamples);
  std::vector<size_t> idx(n);
  for (auto& s : stats) {
    for (auto& i : idx) i = rng.below(n);
    s = statistic(idx);
  }
  out.lo = quantile(stats, 0.025);
  out.hi = quantile(stats, 0.975);
  return out;
}

std::vector<double> column(const std::vector<MaterialScore>& s, double MaterialScore::*field) {
  std::vector<double> v;
  for (const auto& m : s) v.push_back(m.*field);
  return v;
}

double mean_of(const std::vector<double>& v, const std::vector<size_t>& idx) {
  double s = 0;
  for (size_t i : idx) s += v[i];
  return s / static_cast<double>(idx.size());
}

double weighted_of(const std::vector<double>& v, const std::vector<double>& w, const std::vector<size_t>& idx) {
  double s = 0, sw = 0;
  for (size_t i : idx) s += w[i] * v[i], sw += w[i];
  return s / sw;
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

double per_mat_mean(const std::vector<double>& nmae) { return mean_of(nmae, all(nmae.size())); }

double per_electron(const std::vector<double>& nmae, const std::vector<double>& n_e) {
  return weighted_of(nmae, n_e, all(nmae.size()));
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
  const auto nmae = column(scores, &MaterialScore::nmae), ne = column(scores, &MaterialScore::n_e);
  Aggregates a;
  a.per_mat_mean = bootstrap(scores.size(), 1, per_mat_mean(nmae), [&](const auto& idx) { return mean_of(nmae, idx); });
  a.per_electron = bootstrap(scores.size(), 2, per_electron(nmae, ne), [&](const auto& idx) { return weighted_of(nmae, ne, idx); });
  a.median = quantile(nmae, 0.5);
  a.p99 = quantile(nmae, 0.99);
  const auto floor = column(scores, &MaterialScore::floor_nmae), base = column(scores, &MaterialScore::baseline_nmae);
  a.floor_per_mat_mean = per_mat_mean(floor);
  a.floor_per_electron = per_electron(floor, ne);
  a.baseline_per_mat_mean = per_mat_mean(base);
  a.baseline_per_electron = per_electron(base, ne);
  const auto groups = decile_groups(scores);
  for (size_t g = 0; g < groups.size(); ++g) {
    DecileRow row;
    row.count = groups[g].size();
    if (row.count == 0) {
      row.n_e_min = row.n_e_max = std::numeric_limits<double>::quiet_NaN();
      row.per_mat_mean = not_available();
      a.deciles.push_back(row);
      continue;
    }
    std::vector<double> v;
    for (size_t i : groups[g]) v.push_back(nmae[i]);
    row.n_e_min = ne[groups[g].front()];
    row.n_e_max = ne[groups[g].back()];
    row.per_mat_mean = bootstrap(v.size(), 100 + g, per_mat_mean(v), [&](const auto& idx) { return mean_of(v, idx); });
    a.deciles.push_back(row);
  }
  return a;
}

PairedComparison compare_paired(const std::vector<MaterialScore>& a, const std::vector<MaterialScore>& b) {
  if (a.size() != b.size() || a.empty()) throw std::invalid_argument("paired comparison needs the same non-empty set");
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].id != b[i].id) throw std::invalid_argument("paired comparison: material " + a[i].id + " vs " + b[i].id);
  const auto na = column(a, &MaterialScore::nmae), nb = column(b, &MaterialScore::nmae), ne = column(a, &MaterialScore::n_e);
  std::vector<double> d(na.size());
  for (size_t i = 0; i < d.size(); ++i) d[i] = nb[i] - na[i];
  PairedComparison c;
  c.materials = a.size();
  c.d_per_mat_mean = bootstrap(d.size(), 11, per_mat_mean(d), [&](const auto& idx) { return mean_of(d, idx); });
  c.d_per_electron = bootstrap(d.size(), 12, per_electron(d, ne), [&](const auto& idx) { return weighted_of(d, ne, idx); });
  const auto groups = decile_groups(a);
  std::vector<std::vector<double>> dg;
  for (size_t g = 0; g < groups.size(); ++g) {
    std::vector<double> v;
    for (size_t i : groups[g]) v.push_back(d[i]);
    dg.push_back(v);
    c.d_deciles.push_back(v.empty() ? not_available()
                                    : bootstrap(v.size(), 200 + g, per_mat_mean(v), [&](const auto& idx) { return mean_of(v, idx); }));
  }
  // H3's gap: bottom-decile Δ minus top-decile Δ, each decile resampled on its own.
  const auto& lo = dg.front();
  const auto& hi = dg.back();
  c.h3_gap = not_available();
  if (!lo.empty() && !hi.empty()) {
    c.h3_gap.value = per_mat_mean(lo) - per_mat_mean(hi);
    Rng rng(mix_seed(kBootstrapSeed, 13));
    std::vector<double> stats(kBootstrapResamples);
    for (auto& s : stats) {
      double sl = 0, sh = 0;
      for (size_t i = 0; i < lo.size(); ++i) sl += lo[rng.below(lo.size())];
      for (size_t i = 0; i < hi.size(); ++i) sh += hi[rng.below(hi.size())];
      s = sl / static_cast<double>(lo.size()) - sh / static_cast<double>(hi.size());
    }
    c.h3_gap.lo = quantile(stats, 0.025);
    c.h3_gap.hi = quantile(stats, 0.975);
  }
  return c;
}

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::supported: return "supported";
    case Verdict::not_supported: return "not supported";
    case Verdict::not_applicable: return "n/a";
    default: return "inconclusive";
  }
}

Hypotheses judge(const PairedComparison& c) {
  // "x > threshold" judged on the CI: above entirely → supported, below entirely → not, straddling → inconclusive.
  auto above = [](const Interval& i, double t) {
    return i.lo > t ? Verdict::supported : i.hi <= t ? Verdict::not_supported : Verdict::inconclusive;
  };
  Hypotheses h;
  h.h1 = c.d_per_mat_mean.lo >= kH1Threshold ? Verdict::supported
         : c.d_per_mat_mean.hi < kH1Threshold ? Verdict::not_supported
                                       : Verdict::inconclusive;
  h.h2 = c.d_per_electron.hi < 0 ? Verdict::supported : c.d_per_electron.lo >= 0 ? Verdict::not_supported : Verdict::inconclusive;
  h.h3 = available(c.h3_gap) ? above(c.h3_gap, 0.0) : Verdict::not_applicable;
  if (c.materials < kMinMaterialsForVerdict) h.h1 = h.h2 = h.h3 = Verdict::not_applicable;
  return h;
}

}  // namespace rhotrain
