// The LMQ density codec: an empirical Lloyd–Max (L2) scalar quantizer of ρ fitted on the training split.
// encode() is the tokenizer's hot loop (a bucket table on the float's bits + a short scan), decode() maps a bin to its level.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace rhotrain {

// Histogram of voxel values on log-spaced bins, accumulated material by material (streaming fit).
class DensityHistogram {
 public:
  static constexpr int kDefaultBins = 1 << 20;
  explicit DensityHistogram(int bins = kDefaultBins, double lo = 1e-7, double hi = 1e5);

  void add(const float* values, size_t n);  // negatives count as 0
  uint64_t voxels() const { return total_; }
  double max_value() const { return max_; }

  // Bin 0 holds values ≤ lo (zeros); bins 1..n hold log-spaced cells up to hi (larger values land in the last).
  const std::vector<uint64_t>& counts() const { return count_; }
  const std::vector<double>& sums() const { return sum_; }
  double bin_lower_edge(size_t bin) const;

 private:
  double lo_, hi_, log_lo_, inv_log_step_;
  std::vector<uint64_t> count_;
  std::vector<double> sum_;
  uint64_t total_ = 0;
  double max_ = 0;
};

struct LloydReport {
  int iterations = 0;
  std::vector<double> distortion;  // mean squared error after each iteration
};

class LmqCodec {
 public:
  LmqCodec() = default;
  // From explicit levels (ascending) and clip_max; boundaries are the midpoints.
  LmqCodec(std::vector<double> levels, double clip_max);

  // Lloyd–Max fit: equal-mass initial cells, then up to `max_iterations` rounds of
  // (level = count-weighted mean of its cell, boundary = midpoint of neighbouring levels).
  static LmqCodec fit(const DensityHistogram& hist, int bins, int max_iterations = 30, LloydReport* report = nullptr);

  int bins() const { return static_cast<int>(levels_.size()); }
  double clip_max() const { return clip_max_; }
  const std::vector<double>& boundaries() const { return boundaries_; }
  const std::vector<double>& levels() const { return levels_; }

  // searchsorted(boundaries, clip(v, 0, clip_max), side="right").
  int encode(float v) const {
    uint32_t bits = clip_bits(v);
    int i = bucket_start_[bits >> kBucketShift];
    while (i < last_ && threshold_bits_[i] <= bits) ++i;
    return i;
  }
  void encode(const float* values, size_t n, int32_t* bins_out) const;
  float decode(int bin) const { return level_f_[static_cast<size_t>(bin)]; }

  // Written into run dirs and checkpoints: datasets boundaries, levels; attrs bins, clip_max, fit_split, fit_voxels.
  void save(const std::string& path) const;
  static LmqCodec load(const std::string& path);

  std::string fit_split;
  uint64_t fit_voxels = 0;

 private:
  static constexpr int kBucketShift = 11;  // 2^21 buckets over non-negative float bit patterns
  uint32_t clip_bits(float v) const;
  void build_tables();

  std::vector<double> boundaries_, levels_;
  double clip_max_ = 0;
  // Encoding compares float bit patterns: for v ≥ 0, v ≥ b ⇔ bits(v) ≥ bits(smallest float ≥ b).
  std::vector<uint32_t> threshold_bits_;
  std::vector<uint16_t> bucket_start_;  // boundaries ≤ the bucket's first value
  std::vector<float> level_f_;
  uint32_t clip_max_bits_ = 0;
  int last_ = 0;  // bins - 1
};

// NMAE of decode(encode(ρ)) against ρ: the floor no model using this codec can beat.
double codec_floor_nmae(const LmqCodec& codec, const std::vector<float>& density);

}  // namespace rhotrain
