// Per-material NMAE and the aggregates of the weighting study (definitions in docs/design.md):
// per-material mean (+ median, p99), per-electron weighted, per-material mean by n_e decile, each with a
// bootstrap 95 % CI. Pure functions, no torch; comparisons of runs are in arm_comparison.h.
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
  double floor_nmae = 0;     // what the codec gives back of ρ: the floor no model with this codec can beat
  double uniform_nmae = 0;   // the uniform-density baseline: ρ̂ = ∫ρ dV / V everywhere
  double atomic_nmae = 0;    // the atomic-density baseline ρ_atoms (NaN: not available, e.g. an element the fit never saw)
  double seam_ratio = 0;     // the prediction's step across patch boundaries relative to within, over the same for ρ (1: seamless)
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
  double atomic_per_mat_mean = 0;  // the atomic baseline's per-material mean over the same materials (NaN: n/a)
};

// The baselines are the two simplest densities a model must beat: the uniform one (no structure at all) and the
// atomic one (a superposition of spherical atoms, no bonding). The atomic aggregates are NaN (n/a) when any material
// lacks its atomic NMAE.
struct Aggregates {
  Interval per_mat_mean, per_electron;
  double median = 0, p99 = 0;
  std::vector<DecileRow> deciles;
  double floor_per_mat_mean = 0, floor_per_electron = 0, uniform_per_mat_mean = 0, uniform_per_electron = 0;
  double atomic_per_mat_mean = 0, atomic_per_electron = 0, atomic_median = 0, atomic_p99 = 0;
  double seam_ratio = 0;  // mean over the materials (NaN for records written before it was measured)
};

constexpr int kBootstrapResamples = 1000;
constexpr uint64_t kBootstrapSeed = 20240917;

double per_mat_mean(const std::vector<double>& nmae);
double per_electron(const std::vector<double>& nmae, const std::vector<double>& n_e);
// Groups of equal count after sorting by (n_e, id); earlier groups take the remainder (numpy.array_split).
std::vector<std::vector<size_t>> decile_groups(const std::vector<MaterialScore>& scores, int groups = 10);

Aggregates aggregate(const std::vector<MaterialScore>& scores);

}  // namespace rhotrain
