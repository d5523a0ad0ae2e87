#include "trainer/compare_command.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "materials/error.h"
#include "materials/files.h"
#include "metrics/eval_record.h"
#include "trainer/cli.h"
#include "trainer/run_config.h"
#include "trainer/svg_chart.h"

namespace rhotrain {
namespace {

namespace fs = std::filesystem;

struct Run {
  std::string dir;
  RunConfig config;
  EvalRecord eval;
};

// The evaluation at `step` ("last": the highest step evaluated) of `set`.
Run load_run(const std::string& dir, const std::string& step, const std::string& set) {
  Run r;
  r.dir = dir;
  const std::string config = (fs::path(dir) / "config.yaml").string();
  if (!fs::exists(config)) throw Error(dir + ": not a run directory (no config.yaml)");
  r.config = RunConfig::from_resolved_file(config);
  const fs::path eval_dir = fs::path(dir) / "eval" / set;
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
    if (path.empty()) throw Error(dir + ": no evaluation of set '" + set + "' (run `rhotrain eval --run " + dir + "`)");
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
std::string ci(const Interval& i) { return pct(i.value) + " [" + pct(i.lo) + ", " + pct(i.hi) + "]"; }
std::string signed_ci(const Interval& i) {
  char b[96];
  std::snprintf(b, sizeof b, "%+.3f [%+.3f, %+.3f]", 100 * i.value, 100 * i.lo, 100 * i.hi);
  return b;
}

}  // namespace

std::string write_comparison(const std::string& dir_a, const std::string& dir_b, const std::string& step,
                             const std::string& set, const std::string& out, bool force) {
  Run a = load_run(dir_a, step, set), b = load_run(dir_b, step, set);
  // The hypotheses read "electrons vs uniform": A is the uniform run whatever the argument order.
  if (a.config.get_string("data.weighting") == "electrons" && b.config.get_string("data.weighting") == "uniform") std::swap(a, b);

  // Matched runs: architecture, steps, batch, budget, seed, data all equal; the weighting differs.
  std::vector<std::string> differing;
  for (const auto& k : a.config.differences(b.config))
    if (k.rfind("eval.", 0) != 0 && k.rfind("checkpoint.", 0) != 0 && k != "train.log_every" && k != "data.workers" &&
        k != "data.cache_bytes" && k != "train.threads")
      differing.push_back(k);
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

  const long long steps = a.config.get_int("train.steps"), batch = a.config.get_int("train.batch_size");
  std::string r = "# Weighting study: " + a.config.get_string("data.weighting") + " vs " + b.config.get_string("data.weighting") + "\n\n";
  r += "A = `" + a.dir + "` (" + a.config.get_string("data.weighting") + "), B = `" + b.dir + "` (" +
       b.config.get_string("data.weighting") + "); set `" + set + "` (" + std::to_string(a.eval.materials.size()) +
       " materials, every voxel scored), step " + std::to_string(a.eval.step) + ", " + a.eval.mode + ", decode " +
       a.eval.decode + ". NMAE in percent; 95 % bootstrap CIs (" + std::to_string(kBootstrapResamples) +
       " resamples, fixed seed); differences are B − A, paired by material.\n\n";
  r += "## Matched runs\n\n";
  r += matched ? "Matched: same architecture (preset " + a.config.get_string("model.preset") + ", objective " +
                     a.config.get_string("model.objective") + ", every model.* key equal), " + std::to_string(steps) + " steps × global batch " +
                     std::to_string(batch) + " = " + std::to_string(steps * batch) + " sequences each, seed " +
                     a.config.get_string("train.seed") + "; the runs differ in `data.weighting` only.\n\n"
               : "**NOT matched** (" + unmatched + "); compared with --force: read the numbers with that in mind.\n\n";

  r += "## Metrics\n\n| metric | A | B | B − A | codec floor | uniform-density baseline |\n|---|---|---|---|---|---|\n";
  r += "| per-material mean | " + ci(A.per_mat_mean) + " | " + ci(B.per_mat_mean) + " | " + signed_ci(pc.d_per_mat_mean) +
       " | " + pct(A.floor_per_mat_mean) + " | " + pct(A.baseline_per_mat_mean) + " |\n";
  r += "| per-electron | " + ci(A.per_electron) + " | " + ci(B.per_electron) + " | " + signed_ci(pc.d_per_electron) +
       " | " + pct(A.floor_per_electron) + " | " + pct(A.baseline_per_electron) + " |\n";
  r += "| median / p99 | " + pct(A.median) + " / " + pct(A.p99) + " | " + pct(B.median) + " / " + pct(B.p99) + " | | | |\n\n";

  r += "## By electron-count decile (per-material mean)\n\n| decile | n_e range | count | A | B | B − A |\n|---|---|---|---|---|---|\n";
  for (size_t d = 0; d < A.deciles.size(); ++d) {
    char range[64];
    std::snprintf(range, sizeof range, "%.0f–%.0f", A.deciles[d].n_e_min, A.deciles[d].n_e_max);
    r += "| " + std::to_string(d) + " | " + range + " | " + std::to_string(A.deciles[d].count) + " | " +
         ci(A.deciles[d].per_mat_mean) + " | " + ci(B.deciles[d].per_mat_mean) + " | " + signed_ci(pc.d_deciles[d]) + " |\n";
  }

  r += "\n## Pre-registered hypotheses\n\n| | hypothesis | measured | verdict |\n|---|---|---|---|\n";
  r += "| H1 | electrons-trained per-mat-mean NMAE ≥ 0.1 pp worse than uniform | Δ = " + signed_ci(pc.d_per_mat_mean) +
       " pp | " + verdict_name(h.h1) + " |\n";
  r += "| H2 | electrons-trained has lower per-electron NMAE | Δ = " + signed_ci(pc.d_per_electron) + " pp | " +
       verdict_name(h.h2) + " |\n";
  r += "| H3 | the per-mat gap is larger on the bottom n_e decile than on the top | gap = " + signed_ci(pc.h3_gap) +
       " pp | " + verdict_name(h.h3) + " |\n\n";
  r += "A verdict is *supported* when the whole 95 % CI lies on the hypothesis' side of its threshold, *not supported* "
       "when it lies entirely on the other side, and *inconclusive* otherwise.\n\n";

  r += "## Outcome\n\n";
  const bool equivalent = pc.d_per_mat_mean.lo > -0.001 && pc.d_per_mat_mean.hi < 0.001;
  r += std::string("- Per-material mean: ") +
       (equivalent ? "roughly equivalent (the CI of B − A lies within ±0.1 pp)."
                   : pc.d_per_mat_mean.lo >= 0 ? "electron weighting is worse."
                   : pc.d_per_mat_mean.hi <= 0 ? "electron weighting is better." : "not resolved at this budget (the CI is wider than ±0.1 pp).") + "\n";
  r += std::string("- Per-electron: ") +
       (pc.d_per_electron.hi < 0 ? "electron weighting is clearly better."
        : pc.d_per_electron.lo > 0 ? "electron weighting is clearly worse." : "no clear difference (the CI straddles 0).") + "\n";
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
    SvgSeries s{run->config.get_string("data.weighting"), {}, SvgSeries::Style::line};
    for (size_t d = 0; d < run->eval.aggregates.deciles.size(); ++d)
      s.points.emplace_back(static_cast<double>(d), 100 * run->eval.aggregates.deciles[d].per_mat_mean.value);
    deciles.series.push_back(s);
    SvgSeries p{run->config.get_string("data.weighting"), {}, SvgSeries::Style::points};
    for (const auto& m : run->eval.materials) p.points.emplace_back(m.n_e, 100 * m.nmae);
    scatter.series.push_back(p);
  }
  write_text_file_atomic((dir / (stem + "-deciles.svg")).string(), deciles.render());
  write_text_file_atomic((dir / (stem + "-nmae-vs-ne.svg")).string(), scatter.render());
  r += "\n## Plots\n\n![per-decile NMAE](" + stem + "-deciles.svg)\n\n![NMAE vs n_e](" + stem + "-nmae-vs-ne.svg)\n";
  write_text_file_atomic(out, r);

  std::string headline;
  std::snprintf(line, sizeof line, "%-22s %26s %26s %28s\n", "NMAE %", a.config.get_string("data.weighting").c_str(),
                b.config.get_string("data.weighting").c_str(), "B - A");
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

int cmd_compare(int argc, char** argv) {
  cxxopts::Options opts("rhotrain compare", "Phase 1 vs Phase 2: paired comparison, H1-H3, Markdown report with plots.");
  opts.add_options()
      ("runs", "two run directories", cxxopts::value<std::vector<std::string>>())
      ("step", "evaluated step, or 'last'", cxxopts::value<std::string>()->default_value("last"))
      ("set", "evaluation set", cxxopts::value<std::string>()->default_value("val_200"))
      ("o,output", "report file", cxxopts::value<std::string>()->default_value("report.md"))
      ("force", "compare runs that are not matched");
  opts.positional_help("RUN_A RUN_B");
  auto r = parse_command(opts, argc, argv, {"runs"});
  const auto runs = required<std::vector<std::string>>(r, "runs");
  if (runs.size() != 2) throw Error("compare takes exactly two run directories");
  const std::string out = r["output"].as<std::string>();
  std::cout << write_comparison(runs[0], runs[1], r["step"].as<std::string>(), r["set"].as<std::string>(), out, r.count("force") > 0);
  std::cout << "report: " << out << "\n";
  return 0;
}

}  // namespace rhotrain
