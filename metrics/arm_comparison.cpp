#include "metrics/arm_comparison.h"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "metrics/bootstrap.h"

namespace rhotrain {
namespace {

void check_rows(const SeedRuns& runs) {
  if (runs.empty() || runs.front().empty()) throw std::invalid_argument("an arm needs at least one seed and one material");
  for (const auto& row : runs) {
    if (row.size() != runs.front().size()) throw std::invalid_argument("the seeds of an arm evaluated different sets");
    for (size_t i = 0; i < row.size(); ++i)
      if (row[i].id != runs.front()[i].id)
        throw std::invalid_argument("paired comparison: material " + runs.front()[i].id + " vs " + row[i].id);
  }
}

std::vector<std::vector<double>> nmae_rows(const SeedRuns& runs) {
  std::vector<std::vector<double>> rows;
  for (const auto& run : runs) {
    rows.emplace_back();
    for (const auto& m : run) rows.back().push_back(m.nmae);
  }
  return rows;
}

std::vector<double> electrons(const std::vector<MaterialScore>& set) {
  std::vector<double> v;
  for (const auto& m : set) v.push_back(m.n_e);
  return v;
}

double sample_sd(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  double mean = 0, ss = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  for (double x : v) ss += (x - mean) * (x - mean);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

// Each row's own (unweighted or n_e-weighted) mean over every material.
std::vector<double> row_means(const std::vector<std::vector<double>>& rows, const std::vector<double>& weights) {
  std::vector<double> out;
  for (const auto& row : rows) out.push_back(weights.empty() ? per_mat_mean(row) : per_electron(row, weights));
  return out;
}

}  // namespace

ArmSummary summarize_arm(const SeedRuns& runs) {
  check_rows(runs);
  const auto rows = nmae_rows(runs);
  const SeedTable table(rows);
  const std::vector<double> ne = electrons(runs.front());
  ArmSummary s;
  s.seeds = runs.size();
  s.per_mat_mean = two_level_bootstrap(table, every_material(ne.size()), {}, 1);
  s.per_electron = two_level_bootstrap(table, every_material(ne.size()), ne, 2);
  s.seed_per_mat_mean = row_means(rows, {});
  s.seed_per_electron = row_means(rows, ne);
  s.sd_per_mat_mean = sample_sd(s.seed_per_mat_mean);
  s.sd_per_electron = sample_sd(s.seed_per_electron);
  const auto groups = decile_groups(runs.front());
  for (size_t g = 0; g < groups.size(); ++g) {
    DecileRow row;
    row.count = groups[g].size();
    if (row.count == 0) {
      row.n_e_min = row.n_e_max = std::numeric_limits<double>::quiet_NaN();
      row.per_mat_mean = not_available();
    } else {
      row.n_e_min = ne[groups[g].front()];
      row.n_e_max = ne[groups[g].back()];
      row.per_mat_mean = two_level_bootstrap(table, {{groups[g], 1}}, {}, 100 + g);
    }
    s.deciles.push_back(row);
  }
  return s;
}

PairedComparison compare_paired(const SeedRuns& a, const SeedRuns& b) {
  check_rows(a);
  check_rows(b);
  if (a.size() != b.size()) throw std::invalid_argument("paired comparison needs as many seeds in both arms");
  if (a.front().size() != b.front().size()) throw std::invalid_argument("paired comparison needs the same set in both arms");
  for (size_t i = 0; i < a.front().size(); ++i)
    if (a.front()[i].id != b.front()[i].id)
      throw std::invalid_argument("paired comparison: material " + a.front()[i].id + " vs " + b.front()[i].id);
  const auto ra = nmae_rows(a), rb = nmae_rows(b);
  std::vector<std::vector<double>> d = ra;
  for (size_t s = 0; s < d.size(); ++s)
    for (size_t i = 0; i < d[s].size(); ++i) d[s][i] = rb[s][i] - ra[s][i];
  const SeedTable table(d);
  const std::vector<double> ne = electrons(a.front());
  PairedComparison c;
  c.materials = ne.size();
  c.seeds = a.size();
  c.d_per_mat_mean = two_level_bootstrap(table, every_material(ne.size()), {}, 11);
  c.d_per_electron = two_level_bootstrap(table, every_material(ne.size()), ne, 12);
  c.seed_d_per_mat_mean = row_means(d, {});
  c.seed_d_per_electron = row_means(d, ne);
  const auto groups = decile_groups(a.front());
  for (size_t g = 0; g < groups.size(); ++g)
    c.d_deciles.push_back(groups[g].empty() ? not_available() : two_level_bootstrap(table, {{groups[g], 1}}, {}, 200 + g));
  // H3's gap: bottom-decile Δ minus top-decile Δ, each decile resampled on its own (the seeds drawn once for both).
  c.h3_gap = groups.front().empty() || groups.back().empty()
                 ? not_available()
                 : two_level_bootstrap(table, {{groups.front(), 1}, {groups.back(), -1}}, {}, 13);
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
