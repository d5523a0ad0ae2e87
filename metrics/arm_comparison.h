// The weighting study's statistics over K training seeds per arm: each arm's metrics as a mean over its seeds with
// two-level intervals, the paired differences B − A (seed s of one arm against seed s of the other, material by
// material) and the H1–H3 verdicts judged on those intervals. One seed per arm (K = 1) is the same with materials
// resampled alone.
#pragma once
#include <cstddef>
#include <vector>

#include "metrics/nmae.h"

namespace rhotrain {

// One arm's evaluations of one set: a row per training seed, every row the same materials in the same order.
using SeedRuns = std::vector<std::vector<MaterialScore>>;

struct ArmSummary {
  size_t seeds = 0;
  Interval per_mat_mean, per_electron;                       // mean over seeds, two-level 95 % CI
  std::vector<double> seed_per_mat_mean, seed_per_electron;  // each seed's own value
  double sd_per_mat_mean = 0, sd_per_electron = 0;           // between-seed standard deviation (0 for one seed)
  std::vector<DecileRow> deciles;                            // per-material mean by n_e decile, two-level
};
// Throws std::invalid_argument for no seed, an empty set, or rows of different materials.
ArmSummary summarize_arm(const SeedRuns& runs);

// B − A, paired by seed and material.
struct PairedComparison {
  size_t materials = 0, seeds = 0;
  Interval d_per_mat_mean, d_per_electron;
  std::vector<double> seed_d_per_mat_mean, seed_d_per_electron;  // each seed pair's own difference
  std::vector<Interval> d_deciles;                               // per decile
  Interval h3_gap;                                               // (bottom-decile Δ) − (top-decile Δ)
};
// Both arms need the same number of seeds and the same materials in the same order; throws std::invalid_argument.
PairedComparison compare_paired(const SeedRuns& a, const SeedRuns& b);

// H1's threshold: electron weighting costs at least 0.1 percentage points of per-material mean NMAE (a fraction).
constexpr double kH1Threshold = 0.001;
// Fewer materials than this give no verdict: H3 needs a material in every n_e decile, and a percentile bootstrap
// over a handful of materials gives intervals too narrow to trust (one material: zero width).
constexpr size_t kMinMaterialsForVerdict = 10;

enum class Verdict { supported, not_supported, inconclusive, not_applicable };
const char* verdict_name(Verdict v);

struct Hypotheses {
  Verdict h1, h2, h3;
};
// A = uniform, B = electrons. H1: Δ per-mat-mean ≥ +0.1 pp; H2: Δ per-electron < 0; H3: bottom-decile Δ >
// top-decile Δ. Supported when the whole CI agrees, not supported when the whole CI disagrees, else inconclusive;
// n/a for a set of fewer than kMinMaterialsForVerdict materials.
Hypotheses judge(const PairedComparison& c);

}  // namespace rhotrain
