#include "study/comparison.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "common/error.h"
#include "common/files.h"
#include "common/svg_chart.h"
#include "common/text.h"
#include "metrics/eval_record.h"
#include "trainer/evaluator.h"
#include "trainer/run_config.h"
#include "trainer/settings.h"

namespace rhotrain {
namespace {

namespace fs = std::filesystem;

struct Run {
  std::string dir;
  RunConfig config;
  RunSettings settings;
  EvalRecord eval;
};

// The evaluation at `step` ("last": the highest step evaluated) of `set`.
Run load_run(const std::string& dir, const std::string& step, const std::string& set, const std::vector<std::string>& store) {
  Run r;
  r.dir = dir;
  const std::string config = (fs::path(dir) / "config.yaml").string();
  if (!fs::exists(config)) throw Error(dir + ": not a run directory (no config.yaml)");
  r.config = RunConfig::from_resolved_file(config);
  r.settings = run_settings(r.config);
  const fs::path eval_dir = eval_record_dir(dir, set, store);
  std::string path;
  if (step == "last") {
    long long best = -1;
    if (fs::is_directory(eval_dir))
      for (const auto& e : fs::directory_iterator(eval_dir)) {
        const std::string n = e.path().filename().string();
        if (n.rfind("step-", 0) == 0 && e.path().extension() == ".json") {
          const long long s = std::stoll(n.substr(5));
          if (s > best) best = s, path = e.path().string();
        }
      }
    if (path.empty()) {
      std::string with_store;
      for (const auto& s : store) with_store += " --store " + s;
      throw Error(dir + ": no evaluation of split '" + set + "' in " + eval_dir.string() + " (run `rhotrain eval --run " + dir +
                  " --split " + set + with_store + "`)");
    }
  } else {
    path = (eval_dir / ("step-" + step + ".json")).string();
    if (!fs::exists(path)) throw Error(path + ": no such evaluation");
  }
  r.eval = read_eval_record(path);
  std::sort(r.eval.materials.begin(), r.eval.materials.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return r;
}

std::string pct(double x) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", 100 * x);
  return b;
}
std::string pct_points(double fraction) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", 100 * fraction);
  return b;
}
std::string ci(const Interval& i) {
  if (!available(i)) return "n/a";
  return pct(i.value) + " [" + pct(i.lo) + ", " + pct(i.hi) + "]";
}
std::string signed_ci(const Interval& i) {
  if (!available(i)) return "n/a";
  char b[96];
  std::snprintf(b, sizeof b, "%+.3f [%+.3f, %+.3f]", 100 * i.value, 100 * i.lo, 100 * i.hi);
  return b;
}

}  // namespace

std::string write_comparison(const ComparisonRequest& request) {
  const std::string &dir_a = request.run_a, &dir_b = request.run_b, &set = request.split, &out = request.out;
  const bool force = request.force;
  Run a = load_run(dir_a, request.step, set, request.store), b = load_run(dir_b, request.step, set, request.store);
  // The hypotheses read "electrons vs uniform": A is the uniform run whatever the argument order.
  if (a.settings.data.plan.weighting == "electrons" && b.settings.data.plan.weighting == "uniform") std::swap(a, b);
  const std::string& weighting_a = a.settings.data.plan.weighting;
  const std::string& weighting_b = b.settings.data.plan.weighting;

  // Matched runs: everything that defines what is trained is equal but the weighting, evaluated alike at one step.
  const std::vector<std::string> differing = a.config.arm_differences(b.config);
  const bool matched = differing == std::vector<std::string>{"data.weighting"} && a.eval.step == b.eval.step &&
                       a.eval.mode == b.eval.mode && a.eval.decode == b.eval.decode;
  std::string unmatched;
  for (const auto& k : differing)
    if (k != "data.weighting") unmatched += (unmatched.empty() ? "" : ", ") + k;
  if (std::find(differing.begin(), differing.end(), "data.weighting") == differing.end())
    unmatched += std::string(unmatched.empty() ? "" : ", ") + "same weighting in both";
  if (a.eval.step != b.eval.step) unmatched += std::string(unmatched.empty() ? "" : ", ") + "evaluated at different steps";
  if (a.eval.mode != b.eval.mode || a.eval.decode != b.eval.decode)
    unmatched += std::string(unmatched.empty() ? "" : ", ") + "different eval mode/decode";
  if (!matched && !force) throw Error("runs " + dir_a + " and " + dir_b + " are not matched (" + unmatched + "); pass --force to compare anyway");

  // Pair by material id: the sets must be identical.
  if (a.eval.materials.size() != b.eval.materials.size())
    throw Error("runs evaluated different sets (" + std::to_string(a.eval.materials.size()) + " vs " +
                std::to_string(b.eval.materials.size()) + " materials)");
  for (size_t i = 0; i < a.eval.materials.size(); ++i)
    if (a.eval.materials[i].id != b.eval.materials[i].id)
      throw Error("runs evaluated different sets (" + a.eval.materials[i].id + " vs " + b.eval.materials[i].id + ")");
  const PairedComparison pc = compare_paired(a.eval.materials, b.eval.materials);
  const Hypotheses h = judge(pc);
  const Aggregates &A = a.eval.aggregates, &B = b.eval.aggregates;
  const std::string threshold = pct_points(kH1Threshold);

  const long long steps = a.settings.train.steps, batch = a.settings.train.batch_size;
  std::string r = "# Weighting study: " + weighting_a + " vs " + weighting_b + "\n\n";
  r += "A = `" + a.dir + "` (" + weighting_a + "), B = `" + b.dir + "` (" + weighting_b + "); set `" + set + "` (" + count_of(a.eval.materials.size(), "material") +
       ", every voxel scored), step " + std::to_string(a.eval.step) + ", " + a.eval.mode + ", decode " +
       a.eval.decode + ". NMAE in percent; 95 % bootstrap CIs (" + std::to_string(kBootstrapResamples) +
       " resamples, fixed seed); differences are B − A, paired by material.\n\n";
  r += "## Matched runs\n\n";
  r += matched ? "Matched: same architecture (preset " + a.settings.model.preset + ", objective " +
                     (a.settings.model.shape.causal ? "causal" : "masked") + ", every model.* key equal), " + std::to_string(steps) + " steps × global batch " +
                     std::to_string(batch) + " = " + std::to_string(steps * batch) + " sequences each, seed " +
                     std::to_string(a.settings.train.seed) + "; the runs differ in `data.weighting` only.\n\n"
               : "**NOT matched** (" + unmatched + "); compared with --force: read the numbers with that in mind.\n\n";

  r += "## Metrics\n\n| metric | A | B | B − A | codec floor | uniform-density baseline |\n|---|---|---|---|---|---|\n";
  r += "| per-material mean | " + ci(A.per_mat_mean) + " | " + ci(B.per_mat_mean) + " | " + signed_ci(pc.d_per_mat_mean) +
       " | " + pct(A.floor_per_mat_mean) + " | " + pct(A.baseline_per_mat_mean) + " |\n";
  r += "| per-electron | " + ci(A.per_electron) + " | " + ci(B.per_electron) + " | " + signed_ci(pc.d_per_electron) +
       " | " + pct(A.floor_per_electron) + " | " + pct(A.baseline_per_electron) + " |\n";
  r += "| median / p99 | " + pct(A.median) + " / " + pct(A.p99) + " | " + pct(B.median) + " / " + pct(B.p99) + " | | | |\n\n";

  r += "## By electron-count decile (per-material mean)\n\n| decile | n_e range | count | A | B | B − A |\n|---|---|---|---|---|---|\n";
  for (size_t d = 0; d < A.deciles.size(); ++d) {
    char range[64] = "–";
    if (A.deciles[d].count) std::snprintf(range, sizeof range, "%.0f–%.0f", A.deciles[d].n_e_min, A.deciles[d].n_e_max);
    r += "| " + std::to_string(d) + " | " + range + " | " + std::to_string(A.deciles[d].count) + " | " +
         ci(A.deciles[d].per_mat_mean) + " | " + ci(B.deciles[d].per_mat_mean) + " | " + signed_ci(pc.d_deciles[d]) + " |\n";
  }

  r += "\n## Pre-registered hypotheses\n\n| | hypothesis | measured | verdict |\n|---|---|---|---|\n";
  r += "| H1 | electrons-trained per-mat-mean NMAE ≥ " + threshold + " pp worse than uniform | Δ = " + signed_ci(pc.d_per_mat_mean) +
       " pp | " + verdict_name(h.h1) + " |\n";
  r += "| H2 | electrons-trained has lower per-electron NMAE | Δ = " + signed_ci(pc.d_per_electron) + " pp | " +
       verdict_name(h.h2) + " |\n";
  r += "| H3 | the per-mat gap is larger on the bottom n_e decile than on the top | gap = " + signed_ci(pc.h3_gap) +
       " pp | " + verdict_name(h.h3) + " |\n\n";
  r += "A verdict is *supported* when the whole 95 % CI lies on the hypothesis' side of its threshold, *not supported* "
       "when it lies entirely on the other side, and *inconclusive* otherwise.";
  if (pc.materials < kMinMaterialsForVerdict)
    r += " **No verdict (n/a): the set has " + count_of(pc.materials, "material") + "; a verdict needs at least " +
         std::to_string(kMinMaterialsForVerdict) + "** (one in every n_e decile, and enough for a bootstrap interval).";
  r += "\n\n";

  r += "## Outcome\n\n";
  // Within ±the H1 threshold counts as equivalent: the smallest difference the study set out to detect.
  const bool equivalent = pc.d_per_mat_mean.lo > -kH1Threshold && pc.d_per_mat_mean.hi < kH1Threshold;
  if (pc.materials < kMinMaterialsForVerdict) {
    r += "- None: " + count_of(pc.materials, "material") + " are too few to tell the weightings apart.\n";
  } else {
    r += std::string("- Per-material mean: ") +
         (equivalent ? "roughly equivalent (the CI of B − A lies within ±" + threshold + " pp)."
                     : pc.d_per_mat_mean.lo >= 0 ? "electron weighting is worse."
                     : pc.d_per_mat_mean.hi <= 0 ? "electron weighting is better."
                     : "not resolved at this budget (the CI is wider than ±" + threshold + " pp).") + "\n";
    r += std::string("- Per-electron: ") +
         (pc.d_per_electron.hi < 0 ? "electron weighting is clearly better."
          : pc.d_per_electron.lo > 0 ? "electron weighting is clearly worse." : "no clear difference (the CI straddles 0).") + "\n";
  }
  const double fa = A.per_mat_mean.value / A.floor_per_mat_mean, fb = B.per_mat_mean.value / B.floor_per_mat_mean;
  char line[256];
  std::snprintf(line, sizeof line, "- Distance from the codec floor: A %.1f×, B %.1f× the floor; %.2f× and %.2f× the uniform-density baseline.\n",
                fa, fb, A.per_mat_mean.value / A.baseline_per_mat_mean, B.per_mat_mean.value / B.baseline_per_mat_mean);
  r += line;

  // Plots: per-decile NMAE, and NMAE against n_e per material.
  const fs::path out_path(out);
  const std::string stem = out_path.stem().string();
  const fs::path dir = out_path.has_parent_path() ? out_path.parent_path() : fs::path(".");
  fs::create_directories(dir);
  SvgChart deciles{"Per-material mean NMAE by n_e decile (" + set + ")", "n_e decile (0 = fewest electrons)", "NMAE %", false, {}};
  SvgChart scatter{"NMAE per material vs electron count (" + set + ")", "n_e", "NMAE %", true, {}};
  for (const Run* run : {&a, &b}) {
    SvgSeries s{run->settings.data.plan.weighting, {}, SvgSeries::Style::line};
    for (size_t d = 0; d < run->eval.aggregates.deciles.size(); ++d)
      if (available(run->eval.aggregates.deciles[d].per_mat_mean))
        s.points.emplace_back(static_cast<double>(d), 100 * run->eval.aggregates.deciles[d].per_mat_mean.value);
    deciles.series.push_back(s);
    SvgSeries p{run->settings.data.plan.weighting, {}, SvgSeries::Style::points};
    for (const auto& m : run->eval.materials) p.points.emplace_back(m.n_e, 100 * m.nmae);
    scatter.series.push_back(p);
  }
  write_text_file_atomic((dir / (stem + "-deciles.svg")).string(), deciles.render());
  write_text_file_atomic((dir / (stem + "-nmae-vs-ne.svg")).string(), scatter.render());
  r += "\n## Plots\n\n![per-decile NMAE](" + stem + "-deciles.svg)\n\n![NMAE vs n_e](" + stem + "-nmae-vs-ne.svg)\n";
  write_text_file_atomic(out, r);

  std::string headline;
  std::snprintf(line, sizeof line, "%-22s %26s %26s %28s\n", "NMAE %", weighting_a.c_str(), weighting_b.c_str(), "B - A");
  headline += line;
  std::snprintf(line, sizeof line, "%-22s %26s %26s %28s\n", "per-material mean", ci(A.per_mat_mean).c_str(),
                ci(B.per_mat_mean).c_str(), signed_ci(pc.d_per_mat_mean).c_str());
  headline += line;
  std::snprintf(line, sizeof line, "%-22s %26s %26s %28s\n", "per-electron", ci(A.per_electron).c_str(), ci(B.per_electron).c_str(),
                signed_ci(pc.d_per_electron).c_str());
  headline += line;
  std::snprintf(line, sizeof line, "H1 %s, H2 %s, H3 %s; codec floor %s, baseline %s\n", verdict_name(h.h1), verdict_name(h.h2),
                verdict_name(h.h3), pct(A.floor_per_mat_mean).c_str(), pct(A.baseline_per_mat_mean).c_str());
  headline += line;
  return headline;
}

}  // namespace rhotrain
