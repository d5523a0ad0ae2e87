#include "sampler/patch_budget.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "common/svg_chart.h"
#include "common/text.h"

namespace rhotrain {
namespace {

BudgetStats stats_of(const std::vector<double>& v) {
  BudgetStats b;
  b.summary = summarize(v);
  if (b.summary.min > 0) b.max_min_ratio = b.summary.max / b.summary.min;
  for (double x : v) b.below_one += x < 1;
  return b;
}

nlohmann::json json_of(const BudgetStats& b) {
  const Summary& s = b.summary;
  return {{"min", s.min}, {"p10", s.p10}, {"p50", s.p50}, {"p90", s.p90}, {"max", s.max},
          {"max_min_ratio", b.max_min_ratio ? nlohmann::json(*b.max_min_ratio) : nlohmann::json(nullptr)},
          {"n_below_1", b.below_one}};
}

std::string ratio_text(const BudgetStats& b) {
  if (!b.max_min_ratio) return "inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", *b.max_min_ratio);
  return buf;
}

// Histogram of M_i on 40 log-spaced bins shared by every weighting.
SvgChart histogram(const PatchBudget& b) {
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  for (const auto& w : b.weightings)
    for (double x : w.expected) lo = std::min(lo, x), hi = std::max(hi, x);
  lo *= 0.9, hi *= 1.1;
  const int nb = 40;
  const std::string n_e = b.electrons_from == ElectronsFrom::grid ? "n_e = ∫ρ dV (electrons_from grid)" : "n_e = ΣZ (electrons_from sum_z)";
  SvgChart chart{"Patches per material per epoch (M_i), split " + b.split + ", M̄ = " + std::to_string(static_cast<int>(b.patches_per_mat)) +
                     ", " + n_e,
                 "M_i (expected patches per epoch)", "materials", true, {}};
  for (const auto& w : b.weightings) {
    std::vector<double> counts(nb, 0);
    for (double x : w.expected) counts[std::min(nb - 1, static_cast<int>(std::log(x / lo) / std::log(hi / lo) * nb))] += 1;
    SvgSeries s{w.weighting, {}, SvgSeries::Style::step, {}};
    for (int k = 0; k <= nb; ++k) s.points.emplace_back(lo * std::pow(hi / lo, static_cast<double>(k) / nb), counts[std::min(k, nb - 1)]);
    chart.series.push_back(s);
  }
  return chart;
}

}  // namespace

PatchBudget patch_budget(const MaterialStore& store, const std::string& split, const PlanSpec& spec) {
  PatchBudget b;
  b.split = split;
  b.patches_per_mat = spec.patches_per_mat;
  b.electrons_from = spec.electrons_from;
  const auto ids = store.split(split);
  std::vector<double> n_e;
  for (const auto& id : ids) {
    const auto [sum_z, grid] = store.electrons(id);
    n_e.push_back(electron_count(sum_z, grid, spec.electrons_from));
    if (!(n_e.back() > 0)) throw Error(id + ": electron count is not positive");
  }
  b.materials = ids.size();
  b.epoch_size = patches_per_epoch(spec.patches_per_mat, ids.size());
  const double u = allocation_offset(spec.seed, 0);
  for (const auto& name : weighting_names()) {
    const auto strategy = make_weighting(name);
    std::vector<double> w;
    for (double x : n_e) w.push_back(strategy->weight(x));
    WeightingBudget wb;
    wb.weighting = name;
    wb.expected = expected_shares(w, b.epoch_size);
    const auto counts = systematic_counts(wb.expected, u);
    wb.expected_stats = stats_of(wb.expected);
    wb.epoch0_stats = stats_of(std::vector<double>(counts.begin(), counts.end()));
    if (name == "electrons") b.warning = !wb.expected_stats.max_min_ratio || *wb.expected_stats.max_min_ratio > kBudgetWarnRatio;
    b.weightings.push_back(std::move(wb));
  }
  return b;
}

std::string default_budget_plot_path(const MaterialStore& store, const std::string& split) {
  return std::filesystem::path(store.paths().front()).replace_extension("").string() + ".preview-" + split + ".svg";
}

std::string write_patch_budget_preview(const PatchBudget& b, const std::string& plot_path, bool as_json) {
  if (!plot_path.empty()) write_text_file_atomic(plot_path, histogram(b).render());

  const std::string electrons_from = electrons_from_name(b.electrons_from);
  if (as_json) {
    nlohmann::json out = {{"split", b.split}, {"materials", b.materials}, {"patches_per_mat", b.patches_per_mat},
                          {"epoch_size", b.epoch_size}, {"electrons_from", electrons_from},
                          {"warn_max_min_ratio", kBudgetWarnRatio}, {"warning", b.warning}};
    for (const auto& w : b.weightings) {
      out[w.weighting] = json_of(w.expected_stats);
      out[w.weighting]["epoch0_counts"] = json_of(w.epoch0_stats);
    }
    return out.dump() + "\n";
  }
  std::string text;
  char line[256];
  std::snprintf(line, sizeof line, "Phase 0 preview: split '%s', %s, M̄ = %g, T = %zu patches per epoch, n_e from %s\n",
                b.split.c_str(), count_of(b.materials, "material").c_str(), b.patches_per_mat, b.epoch_size, electrons_from.c_str());
  text += line;
  std::snprintf(line, sizeof line, "%-10s %-13s %9s %9s %9s %9s %9s %9s %6s\n", "weighting", "", "min", "p10", "p50", "p90", "max",
                "max:min", "M<1");
  text += line;
  const BudgetStats* electrons = nullptr;
  for (const auto& w : b.weightings) {
    if (w.weighting == "electrons") electrons = &w.expected_stats;
    for (const auto* stats : {&w.expected_stats, &w.epoch0_stats}) {
      const bool epoch0 = stats == &w.epoch0_stats;
      const Summary& s = stats->summary;
      std::snprintf(line, sizeof line, "%-10s %-13s %9.3f %9.3f %9.3f %9.3f %9.3f %9s %6zu\n", epoch0 ? "" : w.weighting.c_str(),
                    epoch0 ? "epoch 0" : "shares M_i", s.min, s.p10, s.p50, s.p90, s.max, ratio_text(*stats).c_str(), stats->below_one);
      text += line;
    }
  }
  const std::string ratio = electrons ? ratio_text(*electrons) : "inf";
  if (b.warning)
    std::snprintf(line, sizeof line,
                  "WARNING: electrons weighting max:min = %s > %.0f: the per-material NMAE cost of electron weighting "
                  "is expected to be substantial (small-n_e materials get few patches)\n",
                  ratio.c_str(), kBudgetWarnRatio);
  else
    std::snprintf(line, sizeof line, "no warning: electrons weighting max:min = %s <= %.0f\n", ratio.c_str(), kBudgetWarnRatio);
  text += line;
  return plot_path.empty() ? text : text + "plot: " + plot_path + "\n";
}

}  // namespace rhotrain
