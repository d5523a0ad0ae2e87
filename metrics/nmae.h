// Per-material NMAE and the aggregates of the weighting study (definitions in docs/design.md):
// per-material mean (+ median, p99), per-electron weighted, per-material mean by n_e decile, each with a
// bootstrap 95 % CI; paired differences between two runs; the H1–H3 verdicts. Pure functions, no torch.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace rhotrain {

// One material's scores: NMAE = Σ|ρ̂−ρ| / Σ|ρ| over every voxel, against the raw float ρ.
struct MaterialScore {
  std::string id;
  int n_atoms = 0;
  double n_e = 0;
  std::array<int, 3> grid{};
  double sum_abs_err = 0, sum_abs_true = 0;
  double nmae = 0;           // the model's
  double floor_nmae = 0;     // decode(encode(ρ)): the codec's floor
  double baseline_nmae = 0;  // ρ̂ = n_e_grid / V everywhere
};

// Σ|a−b| and Σ|b| over n values.
std::array<double, 2> abs_error_sums(const float* predicted, const float* truth, size_t n);

struct Interval {
  double value = 0, lo = 0, hi = 0;  // estimate and bootstrap 95 % CI
};
// What an empty group (an n_e decile of a set of fewer than ten materials) gets: NaN throughout, shown as n/a.
Interval not_available();
bool available(const Interval& i);

struct DecileRow {
  double n_e_min = 0, n_e_max = 0;  // NaN when the decile is empty
  size_t count = 0;
  Interval per_mat_mean;
};

struct Aggregates {
  Interval per_mat_mean, per_electron;
  double median = 0, p99 = 0;
  std::vector<DecileRow> deciles;
  double floor_per_mat_mean = 0, floor_per_electron = 0, baseline_per_mat_mean = 0, baseline_per_electron = 0;
};

constexpr int kBootstrapResamples = 1000;
constexpr uint64_t kBootstrapSeed = 20240917;

double per_mat_mean(const std::vector<double>& nmae);
double per_electron(const std::vector<double>& nmae, const std::vector<double>& n_e);
// Groups of equal count after sorting by (n_e, id); earlier groups take the remainder (numpy.array_split).
std::vector<std::vector<size_t>> decile_groups(const std::vector<MaterialScore>& scores, int groups = 10);

Aggregates aggregate(const std::vector<MaterialScore>& scores);

// ---- two runs on the same set, paired by id (B − A)
struct PairedComparison {
  size_t materials = 0;
  Interval d_per_mat_mean, d_per_electron;  // B − A
  std::vector<Interval> d_deciles;          // per decile, B − A
  Interval h3_gap;                          // (bottom-decile Δ) − (top-decile Δ)
};
// Materials must be the same ids in the same order; throws std::invalid_argument otherwise.
PairedComparison compare_paired(const std::vector<MaterialScore>& a, const std::vector<MaterialScore>& b);

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
