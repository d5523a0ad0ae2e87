#include "study/comparison.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "common/error.h"
#include "common/files.h"
#include "common/svg_chart.h"
#include "common/text.h"
#include "metrics/arm_comparison.h"
#include "materials/store.h"
#include "metrics/eval_record.h"
#include "study/density_pictures.h"
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
        // step-N.json only: step-N.<mode>.<decode>.json records are eval's other modes and decoders
        if (n.rfind("step-", 0) == 0 && n.size() > 10 && n.find_first_not_of("0123456789", 5) == n.size() - 5 &&
            e.path().extension() == ".json") {
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

std::string pct_points(double fraction) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", 100 * fraction);
  return b;
}
std::string ci(const Interval& i) {
  if (!available(i)) return "n/a";
  return percent_text(i.value) + " [" + percent_text(i.lo) + ", " + percent_text(i.hi) + "]";
}
std::string signed_ci(const Interval& i) {
  if (!available(i)) return "n/a";
  char b[96];
  std::snprintf(b, sizeof b, "%+.3f [%+.3f, %+.3f]", 100 * i.value, 100 * i.lo, 100 * i.hi);
  return b;
}
std::string pct_signed(double x) {
  char b[32];
  std::snprintf(b, sizeof b, "%+.3f", 100 * x);
  return b;
}

// The H1–H3 rows of a hypotheses table.
std::string hypotheses_rows(const PairedComparison& c, const Hypotheses& h) {
  const std::string threshold = pct_points(kH1Threshold);
  return "| H1 | electrons-trained per-mat-mean NMAE ≥ " + threshold + " pp worse than uniform | Δ = " + signed_ci(c.d_per_mat_mean) +
         " pp | " + verdict_name(h.h1) + " |\n"
         "| H2 | electrons-trained has lower per-electron NMAE | Δ = " + signed_ci(c.d_per_electron) + " pp | " + verdict_name(h.h2) + " |\n"
         "| H3 | the per-mat gap is larger on the bottom n_e decile than on the top | gap = " + signed_ci(c.h3_gap) + " pp | " +
         verdict_name(h.h3) + " |\n";
}

// "mean ± between-seed SD [CI]" for K ≥ 2 seeds, the plain CI for one.
std::string ci_over_seeds(const Interval& i, double sd, size_t seeds) {
  if (seeds < 2 || !available(i)) return ci(i);
  char b[128];
  std::snprintf(b, sizeof b, "%.3f ± %.3f [%.3f, %.3f]", 100 * i.value, 100 * sd, 100 * i.lo, 100 * i.hi);
  return b;
}
std::string join_seeds(const std::vector<Run>& runs) {
  std::string out;
  for (const auto& r : runs) out += (out.empty() ? "" : ", ") + std::to_string(r.settings.train.seed);
  return out;
}
std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& k : items) out += (out.empty() ? "" : ", ") + k;
  return out;
}
void add_once(std::vector<std::string>& list, const std::string& item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(item);
}

// The two arms of a comparison: A is the uniform arm whatever the argument order, each arm sorted by train.seed.
struct Arms {
  std::vector<Run> a, b;
};

Arms group_into_arms(std::vector<Run> runs, bool force) {
  std::vector<std::string> weightings;
  for (const auto& r : runs) add_once(weightings, r.settings.data.plan.weighting);
  Arms arms;
  if (weightings.size() == 1) {
    // Two runs of one weighting: only as the unmatched comparison --force allows.
    if (runs.size() != 2 || !force)
      throw Error("all " + count_of(runs.size(), "run") + " use the " + weightings[0] +
                  " weighting; compare needs runs of both arms (" + (runs.size() == 2 ? "pass --force to compare them anyway" : "K per arm") + ")");
    arms.a = {runs[0]}, arms.b = {runs[1]};
    return arms;
  }
  if (weightings.size() > 2) throw Error("the runs use " + std::to_string(weightings.size()) + " weightings (" + join(weightings) + "); compare takes two arms");
  const std::string first = std::find(weightings.begin(), weightings.end(), "uniform") != weightings.end() ? "uniform" : weightings[0];
  for (auto& r : runs) (r.settings.data.plan.weighting == first ? arms.a : arms.b).push_back(std::move(r));
  for (auto* arm : {&arms.a, &arms.b}) {
    std::stable_sort(arm->begin(), arm->end(), [](const Run& x, const Run& y) { return x.settings.train.seed < y.settings.train.seed; });
    for (size_t i = 1; i < arm->size(); ++i)
      if ((*arm)[i].settings.train.seed == (*arm)[i - 1].settings.train.seed)
        throw Error("runs " + (*arm)[i - 1].dir + " and " + (*arm)[i].dir + " are both seed " + std::to_string((*arm)[i].settings.train.seed) +
                    " of the " + (*arm)[i].settings.data.plan.weighting + " arm; each arm needs distinct train.seed values");
  }
  if (arms.a.size() != arms.b.size())
    throw Error("the arms have different numbers of runs (" + arms.a[0].settings.data.plan.weighting + ": " + std::to_string(arms.a.size()) +
                ", " + arms.b[0].settings.data.plan.weighting + ": " + std::to_string(arms.b.size()) + "); seed s of one arm is compared with seed s of the other");
  return arms;
}

// Why the arms are not matched (empty when they are): seed s of A and of B may differ in data.weighting only, the
// seeds of one arm in train.seed only, and every run must be evaluated at one step with one mode and decoder.
std::vector<std::string> mismatches(const Arms& arms) {
  std::vector<std::string> why;
  bool same_weighting = false;
  for (size_t s = 0; s < arms.a.size(); ++s) {
    const auto differing = arms.a[s].config.arm_differences(arms.b[s].config);
    for (const auto& k : differing)
      if (k != "data.weighting" && k != "train.seed") add_once(why, k);
    if (std::find(differing.begin(), differing.end(), "data.weighting") == differing.end()) same_weighting = true;
  }
  for (const auto* arm : {&arms.a, &arms.b})
    for (const auto& r : *arm)
      for (const auto& k : arm->front().config.arm_differences(r.config))
        if (k != "train.seed") add_once(why, k);
  if (same_weighting) why.push_back("same weighting in both");
  if (join_seeds(arms.a) != join_seeds(arms.b))
    why.push_back("different seeds (" + arms.a[0].settings.data.plan.weighting + ": " + join_seeds(arms.a) + "; " +
                  arms.b[0].settings.data.plan.weighting + ": " + join_seeds(arms.b) + ")");
  bool steps = false, modes = false;
  for (const auto* arm : {&arms.a, &arms.b})
    for (const auto& r : *arm) {
      steps |= r.eval.step != arms.a[0].eval.step;
      modes |= r.eval.mode != arms.a[0].eval.mode || r.eval.decode != arms.a[0].eval.decode || r.eval.stride != arms.a[0].eval.stride;
    }
  if (steps) why.push_back("evaluated at different steps");
  if (modes) why.push_back("different eval mode/decode/stride");
  return why;
}

SeedRuns materials_by_seed(const std::vector<Run>& arm) {
  SeedRuns rows;
  for (const auto& r : arm) rows.push_back(r.eval.materials);
  return rows;
}

double mean_over(const std::vector<Run>& arm, double Aggregates::*field) {
  double s = 0;
  for (const auto& r : arm) s += r.eval.aggregates.*field;
  return s / static_cast<double>(arm.size());
}

// What a one-seed comparison must say: its intervals resample the materials only, and two seeds of one arm differ by as
// much as the weightings do (the noise control of docs/experiment.md), so any verdict may be the seed's luck.
std::string one_seed_caveat() {
  return "**One seed per arm: these verdicts ignore training-seed variance.** The intervals resample materials only; two runs that "
         "differ in the training seed alone differ as much as the weightings often do (docs/experiment.md, noise control). Add seeds "
         "with `rhotrain experiment --seeds 2` (it trains only the new seeds' runs), or train `train.seed=1` of both arms and compare "
         "all four runs.";
}

}  // namespace

// The best, median and worst material of an arm's first seed, predicted again from its checkpoint at the evaluated
// step and drawn: what its NMAE looks like on a density. A Markdown table of the pictures, or a note why there are none.
std::string draw_best_median_worst(const Run& run, const std::vector<std::string>& store, const fs::path& dir,
                                   const std::string& folder) {
  const std::string& weighting = run.settings.data.plan.weighting;
  try {
    TrainedModel trained(run.dir, std::to_string(run.eval.step));
    const MaterialStore materials(expand_store_paths(store.empty() ? trained.run.data.stores : store), 0);
    EvalSettings settings = trained.run.eval;
    settings.mode = run.eval.mode, settings.decode = run.eval.decode, settings.stride = run.eval.stride;
    std::vector<const MaterialScore*> order;
    for (const auto& m : run.eval.materials) order.push_back(&m);
    std::sort(order.begin(), order.end(), [](const auto* x, const auto* y) { return x->nmae < y->nmae; });
    std::string header = "| " + weighting, rule = "|---", cells = "| ";
    const std::pair<const char*, const MaterialScore*> picks[] = {
        {"best", order.front()}, {"median", order[order.size() / 2]}, {"worst", order.back()}};
    for (const auto& [which, score] : picks) {
      const Material m = materials.read(score->id);
      const std::string file = folder + "/" + weighting + "-" + which + ".png";
      draw_material(m, m.density, predict_density(m, trained.coding, &trained.model, settings, atomic_grid(m, trained.coding)),
                    weighting + ", " + which + " of " + std::to_string(order.size()), {}, (dir / file).string());
      header += std::string(" | ") + which + ": " + score->id + " (" + percent_text(score->nmae) + " %)";
      rule += "|---";
      cells += " | ![" + std::string(which) + "](" + file + ")";
    }
    return header + " |\n" + rule + "|\n" + cells + " |\n\n";
  } catch (const Error& e) {
    return "No pictures of the " + weighting + " arm: " + e.what() + "\n\n";
  }
}

std::string write_comparison(const ComparisonRequest& request) {
  const std::string &set = request.split, &out = request.out;
  if (request.runs.size() < 2) throw Error("compare needs at least two runs (K per arm)");
  std::vector<Run> loaded;
  for (const auto& dir : request.runs) loaded.push_back(load_run(dir, request.step, set, request.store));
  const Arms arms = group_into_arms(std::move(loaded), request.force);
  const Run &a = arms.a.front(), &b = arms.b.front();
  const size_t k = arms.a.size();
  const std::string& weighting_a = a.settings.data.plan.weighting;
  const std::string& weighting_b = b.settings.data.plan.weighting;

  const std::vector<std::string> unmatched_keys = mismatches(arms);
  const bool matched = unmatched_keys.empty();
  const std::string unmatched = join(unmatched_keys);
  if (!matched && !request.force) {
    std::string dirs;
    for (const auto& d : request.runs) dirs += (dirs.empty() ? "" : " and ") + d;
    throw Error("runs " + dirs + " are not matched (" + unmatched + "); pass --force to compare anyway");
  }

  // Pair by material id: the sets must be identical.
  for (const auto* arm : {&arms.a, &arms.b})
    for (const auto& r : *arm) {
      if (r.eval.materials.size() != a.eval.materials.size())
        throw Error("runs evaluated different sets (" + std::to_string(a.eval.materials.size()) + " vs " +
                    std::to_string(r.eval.materials.size()) + " materials)");
      for (size_t i = 0; i < a.eval.materials.size(); ++i)
        if (a.eval.materials[i].id != r.eval.materials[i].id)
          throw Error("runs evaluated different sets (" + a.eval.materials[i].id + " vs " + r.eval.materials[i].id + ")");
    }
  const SeedRuns rows_a = materials_by_seed(arms.a), rows_b = materials_by_seed(arms.b);
  const ArmSummary A = summarize_arm(rows_a), B = summarize_arm(rows_b);
  const PairedComparison pc = compare_paired(rows_a, rows_b);
  const Hypotheses h = judge(pc);
  const Aggregates& floors = a.eval.aggregates;  // the codec floor and the baselines depend on the data alone
  const std::string threshold = pct_points(kH1Threshold);

  const long long steps = a.settings.train.steps, batch = a.settings.train.batch_size;
  std::string r = "# Weighting study: " + weighting_a + " vs " + weighting_b + "\n\n";
  if (k == 1)
    r += "A = `" + a.dir + "` (" + weighting_a + "), B = `" + b.dir + "` (" + weighting_b + "); set `" + set + "` (" + count_of(a.eval.materials.size(), "material") +
         ", every voxel scored), step " + std::to_string(a.eval.step) + ", " + a.eval.mode + ", decode " +
         a.eval.decode + ". NMAE in percent; 95 % bootstrap CIs (" + std::to_string(kBootstrapResamples) +
         " resamples, fixed seed); differences are B − A, paired by material.\n\n";
  else
    r += "A = " + weighting_a + ", B = " + weighting_b + ", " + std::to_string(k) + " training seeds each (runs listed below); set `" + set + "` (" +
         count_of(a.eval.materials.size(), "material") + ", every voxel scored), step " + std::to_string(a.eval.step) + ", " + a.eval.mode +
         ", decode " + a.eval.decode + ". NMAE in percent. Each arm's value is the mean over its seeds, shown as mean ± between-seed "
         "standard deviation [95 % CI]. The CIs are a two-level bootstrap (" + std::to_string(kBootstrapResamples) + " resamples, fixed seed): "
         "each resample draws the seeds with replacement, then the materials; so they include the seed-to-seed variation, not only "
         "the materials'. Differences are B − A, seed s of B against seed s of A, paired by material.\n\n";
  r += "## Matched runs\n\n";
  const std::string seeds_text = k == 1 ? "seed " + std::to_string(a.settings.train.seed) : "seeds " + join_seeds(arms.a);
  r += matched ? "Matched: same architecture (preset " + a.settings.model.preset + ", objective " +
                     (a.settings.model.shape.causal ? "causal" : "masked") + ", every model.* key equal), " + std::to_string(steps) + " steps × global batch " +
                     std::to_string(batch) + " = " + std::to_string(steps * batch) + " sequences each, " + seeds_text +
                     (k == 1 ? "; the runs differ in `data.weighting` only.\n\n" : "; seed s of A and seed s of B differ in `data.weighting` only.\n\n")
               : "**NOT matched** (" + unmatched + "); compared with --force: read the numbers with that in mind.\n\n";

  r += "## Metrics\n\nBeside the models: the codec floor (what the codec gives back of the true density; no model with this codec can "
       "beat it), the atomic baseline (a superposition of spherical atomic densities fitted on the training split: what a model "
       "must beat to have learned anything about bonding) and the uniform-density baseline (∫ρ dV / V everywhere).\n\n"
       "| metric | A | B | B − A | codec floor | atomic baseline | uniform-density baseline |\n|---|---|---|---|---|---|---|\n";
  r += "| per-material mean | " + ci_over_seeds(A.per_mat_mean, A.sd_per_mat_mean, k) + " | " + ci_over_seeds(B.per_mat_mean, B.sd_per_mat_mean, k) +
       " | " + signed_ci(pc.d_per_mat_mean) + " | " + percent_text(floors.floor_per_mat_mean) + " | " + percent_text(floors.atomic_per_mat_mean) + " | " +
       percent_text(floors.uniform_per_mat_mean) + " |\n";
  r += "| per-electron | " + ci_over_seeds(A.per_electron, A.sd_per_electron, k) + " | " + ci_over_seeds(B.per_electron, B.sd_per_electron, k) +
       " | " + signed_ci(pc.d_per_electron) + " | " + percent_text(floors.floor_per_electron) + " | " + percent_text(floors.atomic_per_electron) + " | " +
       percent_text(floors.uniform_per_electron) + " |\n";
  r += std::string("| median / p99") + (k == 1 ? "" : " (mean over seeds)") + " | " + percent_text(mean_over(arms.a, &Aggregates::median)) + " / " +
       percent_text(mean_over(arms.a, &Aggregates::p99)) + " | " + percent_text(mean_over(arms.b, &Aggregates::median)) + " / " +
       percent_text(mean_over(arms.b, &Aggregates::p99)) + " | | | " + percent_text(floors.atomic_median) + " / " + percent_text(floors.atomic_p99) + " | |\n";
  r += "| per-material mean / atomic baseline | " + ratio_text(A.per_mat_mean.value, floors.atomic_per_mat_mean) + " | " +
       ratio_text(B.per_mat_mean.value, floors.atomic_per_mat_mean) + " | | | | |\n\n";

  if (k > 1) {
    r += "## Per seed\n\n| seed | A run | B run | A per-mat | B per-mat | B − A | A per-electron | B per-electron | B − A |\n|---|---|---|---|---|---|---|---|---|\n";
    for (size_t s = 0; s < k; ++s)
      r += "| " + std::to_string(arms.a[s].settings.train.seed) + " | `" + arms.a[s].dir + "` | `" + arms.b[s].dir + "` | " +
           percent_text(A.seed_per_mat_mean[s]) + " | " + percent_text(B.seed_per_mat_mean[s]) + " | " + pct_signed(pc.seed_d_per_mat_mean[s]) + " | " +
           percent_text(A.seed_per_electron[s]) + " | " + percent_text(B.seed_per_electron[s]) + " | " + pct_signed(pc.seed_d_per_electron[s]) + " |\n";
    r += "\n";
  }

  r += "## By electron-count decile (per-material mean)\n\n| decile | n_e range | count | A | B | B − A | atomic baseline |\n|---|---|---|---|---|---|---|\n";
  const auto& atomic_deciles = a.eval.aggregates.deciles;
  for (size_t d = 0; d < A.deciles.size(); ++d) {
    char range[64] = "–";
    if (A.deciles[d].count) std::snprintf(range, sizeof range, "%.0f–%.0f", A.deciles[d].n_e_min, A.deciles[d].n_e_max);
    r += "| " + std::to_string(d) + " | " + range + " | " + std::to_string(A.deciles[d].count) + " | " +
         ci(A.deciles[d].per_mat_mean) + " | " + ci(B.deciles[d].per_mat_mean) + " | " + signed_ci(pc.d_deciles[d]) + " | " +
         (d < atomic_deciles.size() ? percent_text(atomic_deciles[d].atomic_per_mat_mean) : "n/a") + " |\n";
  }

  r += "\n## Pre-registered hypotheses\n\n| | hypothesis | measured | verdict |\n|---|---|---|---|\n";
  r += hypotheses_rows(pc, h);
  r += std::string("\nA verdict is *supported* when the whole 95 % CI lies on the hypothesis' side of its threshold, *not supported* "
       "when it lies entirely on the other side, and *inconclusive* otherwise") + (k > 1 ? "; the CIs include the seed-to-seed variation." : ".");
  if (k == 1) r += "\n\n" + one_seed_caveat();
  if (pc.materials < kMinMaterialsForVerdict)
    r += " **No verdict (n/a): the set has " + count_of(pc.materials, "material") + "; a verdict needs at least " +
         std::to_string(kMinMaterialsForVerdict) + "** (one in every n_e decile, and enough for a bootstrap interval).";
  r += "\n\n";

  // Two seeds of the uniform arm compared as if they were the two arms: what "no effect" looks like at this budget.
  std::string noise_line;
  if (k > 1) {
    const PairedComparison noise = compare_paired({rows_a[0]}, {rows_a[1]});
    const Hypotheses hn = judge(noise);
    const std::string label = "seed " + std::to_string(arms.a[1].settings.train.seed) + " − seed " + std::to_string(arms.a[0].settings.train.seed);
    r += "## Noise control: " + label + " of the " + weighting_a + " arm\n\nThe same comparison between two runs that differ in the "
         "training seed alone, with materials-only CIs, as a study with one seed per arm would report it. Whatever it finds is the "
         "luck of the seed: it shows how large an effect one seed per arm can fake.\n\n| | quantity | " + label +
         " | a one-seed study would call its hypothesis |\n|---|---|---|---|\n"
         "| H1 | per-material mean Δ | " + signed_ci(noise.d_per_mat_mean) + " pp | " + verdict_name(hn.h1) + " |\n"
         "| H2 | per-electron Δ | " + signed_ci(noise.d_per_electron) + " pp | " + verdict_name(hn.h2) + " |\n"
         "| H3 | bottom-decile Δ − top-decile Δ | " + signed_ci(noise.h3_gap) + " pp | " + verdict_name(hn.h3) + " |\n\n";
    noise_line = "noise control (" + weighting_a + " seed " + std::to_string(arms.a[1].settings.train.seed) + " - seed " +
                 std::to_string(arms.a[0].settings.train.seed) + "): per-material mean " + signed_ci(noise.d_per_mat_mean) +
                 ", per-electron " + signed_ci(noise.d_per_electron) + "\n";
  }
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
    // "Clearly" needs the seed variation in the interval: with one seed per arm the interval has only the materials'.
    const std::string clearly = k > 1 ? "clearly " : "";
    r += std::string("- Per-electron: ") +
         (pc.d_per_electron.hi < 0 ? "electron weighting is " + clearly + "better"
          : pc.d_per_electron.lo > 0 ? "electron weighting is " + clearly + "worse" : std::string("no clear difference (the CI straddles 0)")) +
         (k == 1 && (pc.d_per_electron.hi < 0 || pc.d_per_electron.lo > 0) ? " for these two runs (one seed per arm: see above)." : ".") + "\n";
  }
  const double fa = A.per_mat_mean.value / floors.floor_per_mat_mean, fb = B.per_mat_mean.value / floors.floor_per_mat_mean;
  char line[256];
  std::snprintf(line, sizeof line, "- Distance from the codec floor: A %.1f×, B %.1f× the floor; %.2f× and %.2f× the uniform-density baseline.\n",
                fa, fb, A.per_mat_mean.value / floors.uniform_per_mat_mean, B.per_mat_mean.value / floors.uniform_per_mat_mean);
  r += line;
  r += "- Against the atomic baseline (" + percent_text(floors.atomic_per_mat_mean) + " %): A " + ratio_text(A.per_mat_mean.value, floors.atomic_per_mat_mean) +
       ", B " + ratio_text(B.per_mat_mean.value, floors.atomic_per_mat_mean) + " its per-material mean" +
       (std::isnan(floors.atomic_per_mat_mean) ? " (not available: runs made before the atomic baseline, or elements it never saw)"
        : A.per_mat_mean.value < floors.atomic_per_mat_mean && B.per_mat_mean.value < floors.atomic_per_mat_mean ? "; both arms beat it."
        : "; **an arm that does not beat it has learned nothing a superposition of atoms does not already know.**") + "\n";

  // Plots: per-decile NMAE, and NMAE against n_e per material.
  const fs::path out_path(out);
  const std::string stem = out_path.stem().string();
  const fs::path dir = out_path.has_parent_path() ? out_path.parent_path() : fs::path(".");
  fs::create_directories(dir);
  SvgChart deciles{"Per-material mean NMAE by n_e decile (" + set + ")" + (k > 1 ? ", mean of " + std::to_string(k) + " seeds" : ""),
                   "n_e decile (0 = fewest electrons)", "NMAE % (bars: 95 % CI)", false, {}};
  deciles.integer_x = true;
  SvgChart scatter{"NMAE per material vs electron count (" + set + ")" + (k > 1 ? ", mean of " + std::to_string(k) + " seeds" : ""),
                   "n_e", "NMAE %", true, {}};
  for (const auto* arm : {&arms.a, &arms.b}) {
    const ArmSummary& summary = arm == &arms.a ? A : B;
    const std::string& name = arm->front().settings.data.plan.weighting;
    // The arms' bars side by side rather than on top of each other.
    const double offset = arm == &arms.a ? -0.08 : 0.08;
    SvgSeries line{name, {}, SvgSeries::Style::line, {}};
    for (size_t d = 0; d < summary.deciles.size(); ++d)
      if (available(summary.deciles[d].per_mat_mean)) {
        const Interval& i = summary.deciles[d].per_mat_mean;
        line.points.emplace_back(static_cast<double>(d) + offset, 100 * i.value);
        line.bars.emplace_back(100 * i.lo, 100 * i.hi);
      }
    deciles.series.push_back(line);
    SvgSeries points{name, {}, SvgSeries::Style::points, {}};
    for (size_t i = 0; i < arm->front().eval.materials.size(); ++i) {
      double mean = 0;
      for (const auto& run : *arm) mean += run.eval.materials[i].nmae;
      points.points.emplace_back(arm->front().eval.materials[i].n_e, 100 * mean / static_cast<double>(arm->size()));
    }
    scatter.series.push_back(points);
  }
  SvgSeries atomic_points{"atomic baseline", {}, SvgSeries::Style::points, {}};
  for (const auto& m : a.eval.materials)
    if (!std::isnan(m.atomic_nmae)) atomic_points.points.emplace_back(m.n_e, 100 * m.atomic_nmae);
  if (!atomic_points.points.empty()) scatter.series.push_back(atomic_points);
  SvgSeries floor_points{"codec floor", {}, SvgSeries::Style::points, {}};
  for (const auto& m : a.eval.materials) floor_points.points.emplace_back(m.n_e, 100 * m.floor_nmae);
  scatter.series.push_back(floor_points);
  // The references, per decile over the same materials: what the atoms alone give, and what the codec allows.
  SvgSeries atomic_line{"atomic baseline", {}, SvgSeries::Style::line, {}}, floor_line{"codec floor", {}, SvgSeries::Style::line, {}};
  const auto floor_groups = decile_groups(a.eval.materials);
  for (size_t d = 0; d < floor_groups.size(); ++d) {
    if (floor_groups[d].empty()) continue;
    double floor = 0;
    for (size_t i : floor_groups[d]) floor += a.eval.materials[i].floor_nmae;
    floor_line.points.emplace_back(static_cast<double>(d), 100 * floor / static_cast<double>(floor_groups[d].size()));
    if (d < atomic_deciles.size() && !std::isnan(atomic_deciles[d].atomic_per_mat_mean))
      atomic_line.points.emplace_back(static_cast<double>(d), 100 * atomic_deciles[d].atomic_per_mat_mean);
  }
  if (!atomic_line.points.empty()) deciles.series.push_back(atomic_line);
  deciles.series.push_back(floor_line);
  write_text_file_atomic((dir / (stem + "-deciles.svg")).string(), deciles.render());
  write_text_file_atomic((dir / (stem + "-nmae-vs-ne.svg")).string(), scatter.render());
  r += "\n## Plots\n\n![per-decile NMAE](" + stem + "-deciles.svg)\n\n![NMAE vs n_e](" + stem + "-nmae-vs-ne.svg)\n";
  r += "\n## Densities: best, median and worst material (seed " + std::to_string(a.settings.train.seed) +
       ")\n\nOn the lattice plane with the most atoms: DFT, predicted and their difference.\n\n";
  for (const auto* arm : {&arms.a, &arms.b}) r += draw_best_median_worst(arm->front(), request.store, dir, stem + "-pictures");
  write_text_file_atomic(out, r);

  std::string headline;
  if (k > 1) headline += "mean of " + std::to_string(k) + " seeds per arm; CIs resample seeds, then materials\n";
  std::snprintf(line, sizeof line, "%-22s %26s %26s %28s\n", "NMAE %", weighting_a.c_str(), weighting_b.c_str(), "B - A");
  headline += line;
  std::snprintf(line, sizeof line, "%-22s %26s %26s %28s\n", "per-material mean", ci(A.per_mat_mean).c_str(),
                ci(B.per_mat_mean).c_str(), signed_ci(pc.d_per_mat_mean).c_str());
  headline += line;
  std::snprintf(line, sizeof line, "%-22s %26s %26s %28s\n", "per-electron", ci(A.per_electron).c_str(), ci(B.per_electron).c_str(),
                signed_ci(pc.d_per_electron).c_str());
  headline += line;
  std::snprintf(line, sizeof line, "%-22s %26s %26s\n", "/ atomic baseline", ratio_text(A.per_mat_mean.value, floors.atomic_per_mat_mean).c_str(),
                ratio_text(B.per_mat_mean.value, floors.atomic_per_mat_mean).c_str());
  headline += line;
  std::snprintf(line, sizeof line, "H1 %s, H2 %s, H3 %s; codec floor %s, atomic baseline %s, uniform-density baseline %s\n", verdict_name(h.h1),
                verdict_name(h.h2), verdict_name(h.h3), percent_text(floors.floor_per_mat_mean).c_str(), percent_text(floors.atomic_per_mat_mean).c_str(),
                percent_text(floors.uniform_per_mat_mean).c_str());
  headline += line + noise_line;
  if (k == 1) headline += one_seed_caveat() + "\n";
  return headline;
}

}  // namespace rhotrain
