// The LMQ density codec: an empirical Lloyd–Max (L2) scalar quantizer of ρ fitted on the training split.
// encode() is the tokenizer's hot loop (a bucket table on the float's bits + a short scan), decode() maps a bin to its level.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace rhotrain {

// Histogram of voxel values on log-spaced bins, accumulated material by material (streaming fit). A density's
// negatives count as 0; a signed histogram (of residuals ρ − ρ_atoms) gives negatives log-spaced bins of their own.
class DensityHistogram {
 public:
  static constexpr int kDefaultBins = 1 << 20;
  explicit DensityHistogram(int bins = kDefaultBins, double lo = 1e-7, double hi = 1e5, bool signed_values = false);

  void add(const float* values, size_t n);
  uint64_t voxels() const { return total_; }
  double max_value() const { return max_; }
  double min_value() const { return min_; }  // 0 unless signed

  // The non-empty bins in ascending order of value: each bin's count and the mean of its values. |v| ≤ lo share one
  // bin; log-spaced bins reach up to hi (larger magnitudes land in the last).
  struct Cell {
    double count, mean;
  };
  std::vector<Cell> cells() const;

 private:
  size_t bin_of(double magnitude) const;
  double lo_, log_lo_, inv_log_step_;
  bool signed_;
  std::vector<uint64_t> count_, negative_count_;
  std::vector<double> sum_, negative_sum_;
  uint64_t total_ = 0;
  double max_ = 0, min_ = 0;
};

struct LloydReport {
  int iterations = 0;
  std::vector<double> distortion;  // mean squared error after each iteration
};

class LmqCodec {
 public:
  LmqCodec() = default;
  // From explicit levels (ascending) and the clip range; boundaries are the midpoints. A density codec clips at 0, a
  // residual codec at the most negative residual it was fitted on.
  LmqCodec(std::vector<double> levels, double clip_max, double clip_min = 0);

  // Lloyd–Max fit: equal-mass initial cells, then up to `max_iterations` rounds of
  // (level = count-weighted mean of its cell, boundary = midpoint of neighbouring levels).
  static LmqCodec fit(const DensityHistogram& hist, int bins, int max_iterations = 30, LloydReport* report = nullptr);

  int bins() const { return static_cast<int>(levels_.size()); }
  double clip_max() const { return clip_max_; }
  double clip_min() const { return clip_min_; }
  const std::vector<double>& boundaries() const { return boundaries_; }
  const std::vector<double>& levels() const { return levels_; }

  // searchsorted(boundaries, clip(v, clip_min, clip_max), side="right"); NaN encodes as 0 would.
  int encode(float v) const {
    const uint32_t key = clip_key(v);
    int i = bucket_start_[(key - min_key_) >> kBucketShift];
    while (i < last_ && threshold_key_[i] <= key) ++i;
    return i;
  }
  void encode(const float* values, size_t n, int32_t* bins_out) const;
  float decode(int bin) const { return level_f_[static_cast<size_t>(bin)]; }

  // Written into run dirs and checkpoints: datasets boundaries, levels; attrs bins, clip_max, clip_min, fit_split,
  // fit_voxels, target ("density" or "residual") and, for a residual codec, the fingerprint of its atomic-density fit.
  void save(const std::string& path) const;
  static LmqCodec load(const std::string& path);

  std::string fit_split;
  uint64_t fit_voxels = 0;
  std::string target = "density";  // what it encodes: ρ, or the residual ρ − ρ_atoms
  uint64_t atoms_fingerprint = 0;  // residual: AtomicDensity::fingerprint() of the fit it was made over

 private:
  static constexpr int kBucketShift = 11;  // 2^21 buckets over the keys of non-negative floats
  uint32_t clip_key(float v) const;
  void build_tables();

  std::vector<double> boundaries_, levels_;
  double clip_max_ = 0, clip_min_ = 0;
  // Encoding compares order-preserving keys of floats: v ≥ b ⇔ key(v) ≥ key(smallest float ≥ b).
  std::vector<uint32_t> threshold_key_;
  std::vector<uint16_t> bucket_start_;  // boundaries ≤ the bucket's first key
  std::vector<float> level_f_;
  uint32_t min_key_ = 0, max_key_ = 0;
  int last_ = 0;  // bins - 1
};

// NMAE of what the codec gives back against ρ: the floor no model using this codec can beat. A density codec gives
// decode(encode(ρ)); a residual codec gives ρ_atoms + decode(encode(ρ − ρ_atoms)), `atoms` holding ρ_atoms.
double codec_floor_nmae(const LmqCodec& codec, const std::vector<float>& density, const std::vector<float>& atoms = {});
// What the codec gives back for one voxel of true density `rho` over the baseline `atoms` (0 for a density codec):
// the one rounding the floor, the oracle and every decoded prediction share.
inline float codec_round_trip(const LmqCodec& codec, float rho, float atoms) { return atoms + codec.decode(codec.encode(rho - atoms)); }

}  // namespace rhotrain
