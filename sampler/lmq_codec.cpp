#include "sampler/lmq_codec.h"

#include <H5Cpp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "common/error.h"
#include "common/files.h"

namespace rhotrain {
namespace {

uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// Smallest float that is ≥ b (as a bit pattern; 0 for b ≤ 0).
uint32_t threshold_bits(double b) {
  if (b <= 0) return 0;
  float f = static_cast<float>(b);
  if (static_cast<double>(f) < b) f = std::nextafter(f, INFINITY);
  return float_bits(f);
}

}  // namespace

// ---------------------------------------------------------------- histogram

DensityHistogram::DensityHistogram(int bins, double lo, double hi)
    : lo_(lo), hi_(hi), log_lo_(std::log(lo)), inv_log_step_(bins / (std::log(hi) - std::log(lo))),
      count_(static_cast<size_t>(bins) + 1, 0), sum_(static_cast<size_t>(bins) + 1, 0.0) {}

void DensityHistogram::add(const float* values, size_t n) {
  const size_t last = count_.size() - 1;
  for (size_t i = 0; i < n; ++i) {
    const double v = values[i] > 0 ? values[i] : 0.0;
    size_t b = 0;
    if (v > lo_) b = std::min(last, 1 + static_cast<size_t>((std::log(v) - log_lo_) * inv_log_step_));
    ++count_[b];
    sum_[b] += v;
    max_ = std::max(max_, v);
  }
  total_ += n;
}

double DensityHistogram::bin_lower_edge(size_t bin) const {
  return bin == 0 ? 0.0 : std::exp(log_lo_ + static_cast<double>(bin - 1) / inv_log_step_);
}

// ---------------------------------------------------------------- codec

LmqCodec::LmqCodec(std::vector<double> levels, double clip_max) : levels_(std::move(levels)), clip_max_(clip_max) {
  if (levels_.size() < 2 || levels_.size() > 65536) throw Error("codec needs 2..65536 levels");
  for (size_t j = 1; j < levels_.size(); ++j) {
    if (!(levels_[j] > levels_[j - 1])) throw Error("codec levels must be strictly ascending");
    boundaries_.push_back(0.5 * (levels_[j - 1] + levels_[j]));
  }
  build_tables();
}

LmqCodec LmqCodec::fit(const DensityHistogram& hist, int bins, int max_iterations, LloydReport* report) {
  if (bins < 2 || bins > 65536) throw Error("codec bins must be in 2..65536, not " + std::to_string(bins));
  if (hist.voxels() == 0) throw Error("cannot fit a codec on zero voxels");
  // Work on the non-empty histogram bins: their means are strictly ascending.
  std::vector<double> x, w;
  for (size_t b = 0; b < hist.counts().size(); ++b)
    if (hist.counts()[b] > 0) {
      w.push_back(static_cast<double>(hist.counts()[b]));
      x.push_back(hist.sums()[b] / w.back());
    }
  const size_t K = x.size(), B = static_cast<size_t>(bins);
  const double N = static_cast<double>(hist.voxels());

  // Cell j covers x[start[j] .. start[j+1]); equal-mass initial cells, never empty while K ≥ B.
  std::vector<size_t> start(B + 1, K);
  start[0] = 0;
  {
    double cum = 0;
    size_t k = 0;
    for (size_t j = 1; j < B; ++j) {
      const double target = N * static_cast<double>(j) / static_cast<double>(B);
      while (k < K && cum + w[k] <= target) cum += w[k++];
      size_t s = std::max(k, start[j - 1] + (K >= B ? 1 : 0));
      if (K >= B) s = std::min(s, K - (B - j));
      start[j] = std::min(s, K);
      while (k < start[j]) cum += w[k++];
    }
  }

  std::vector<double> levels(B);
  auto update_levels = [&] {
    std::vector<bool> empty(B);
    for (size_t j = 0; j < B; ++j) {
      double sw = 0, swx = 0;
      for (size_t k = start[j]; k < start[j + 1]; ++k) sw += w[k], swx += w[k] * x[k];
      empty[j] = sw == 0;
      if (sw > 0) levels[j] = swx / sw;
    }
    // Empty cells (only when there are fewer distinct values than bins) get levels spaced between
    // their non-empty neighbours, so that levels stay strictly ascending.
    size_t j = 0;
    while (j < B) {
      if (!empty[j]) { ++j; continue; }
      size_t e = j;
      while (e < B && empty[e]) ++e;
      const double lo = j > 0 ? levels[j - 1] : (e < B ? levels[e] : 0.0) - 1e-9 * static_cast<double>(e - j + 1);
      const double hi = e < B ? levels[e] : lo + 1e-9 * static_cast<double>(e - j + 1) + std::fabs(lo) * 1e-6;
      for (size_t t = j; t < e; ++t) levels[t] = lo + (hi - lo) * static_cast<double>(t - j + 1) / static_cast<double>(e - j + 1);
      j = e;
    }
  };
  auto distortion = [&] {
    double d = 0;
    for (size_t j = 0; j < B; ++j)
      for (size_t k = start[j]; k < start[j + 1]; ++k) d += w[k] * (x[k] - levels[j]) * (x[k] - levels[j]);
    return d / N;
  };

  LloydReport local;
  LloydReport& rep = report ? *report : local;
  update_levels();
  for (int it = 0; it < max_iterations; ++it) {
    // Boundaries at midpoints; each value moves to the cell of its nearest level.
    bool changed = false;
    size_t k = 0;
    for (size_t j = 1; j < B; ++j) {
      const double t = 0.5 * (levels[j - 1] + levels[j]);
      k = std::max(k, start[j - 1]);
      while (k < K && x[k] < t) ++k;
      changed |= start[j] != k;
      start[j] = k;
    }
    update_levels();
    rep.distortion.push_back(distortion());
    rep.iterations = it + 1;
    if (!changed) break;
  }
  LmqCodec codec(levels, hist.max_value());
  codec.fit_voxels = hist.voxels();
  return codec;
}

uint32_t LmqCodec::clip_bits(float v) const {
  if (!(v > 0.0f)) return 0;  // negatives, -0 and NaN clip to 0
  const uint32_t b = float_bits(v);
  return b < clip_max_bits_ ? b : clip_max_bits_;
}

void LmqCodec::build_tables() {
  last_ = static_cast<int>(boundaries_.size());
  float cm = static_cast<float>(clip_max_);
  if (static_cast<double>(cm) > clip_max_) cm = std::nextafter(cm, 0.0f);
  clip_max_bits_ = clip_max_ > 0 ? float_bits(cm) : 0;
  threshold_bits_.resize(boundaries_.size());
  for (size_t j = 0; j < boundaries_.size(); ++j) threshold_bits_[j] = threshold_bits(boundaries_[j]);
  bucket_start_.assign((clip_max_bits_ >> kBucketShift) + 1, 0);
  size_t i = 0;
  for (size_t u = 0; u < bucket_start_.size(); ++u) {
    const uint32_t first = static_cast<uint32_t>(u) << kBucketShift;
    while (i < threshold_bits_.size() && threshold_bits_[i] <= first) ++i;
    bucket_start_[u] = static_cast<uint16_t>(i);
  }
  level_f_.assign(levels_.begin(), levels_.end());
}

void LmqCodec::encode(const float* values, size_t n, int32_t* bins_out) const {
  for (size_t i = 0; i < n; ++i) bins_out[i] = encode(values[i]);
}

void LmqCodec::save(const std::string& path) const {
  PendingFile pending(path);
  try {
    H5::H5File f(pending.temp_path(), H5F_ACC_TRUNC);
    const hsize_t nb = boundaries_.size(), nl = levels_.size();
    f.createDataSet("boundaries", H5::PredType::NATIVE_DOUBLE, H5::DataSpace(1, &nb))
        .write(boundaries_.data(), H5::PredType::NATIVE_DOUBLE);
    f.createDataSet("levels", H5::PredType::NATIVE_DOUBLE, H5::DataSpace(1, &nl))
        .write(levels_.data(), H5::PredType::NATIVE_DOUBLE);
    H5::Group root = f.openGroup("/");
    const int b = bins();
    const H5::DataSpace scalar(H5S_SCALAR);
    root.createAttribute("bins", H5::PredType::NATIVE_INT, scalar).write(H5::PredType::NATIVE_INT, &b);
    root.createAttribute("clip_max", H5::PredType::NATIVE_DOUBLE, scalar).write(H5::PredType::NATIVE_DOUBLE, &clip_max_);
    root.createAttribute("fit_voxels", H5::PredType::NATIVE_UINT64, scalar).write(H5::PredType::NATIVE_UINT64, &fit_voxels);
    H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
    root.createAttribute("fit_split", t, scalar).write(t, fit_split);
  } catch (const H5::Exception& e) {
    throw Error(path + ": cannot write codec (" + e.getDetailMsg() + ")");
  }
  pending.commit();
}

LmqCodec LmqCodec::load(const std::string& path) {
  if (!std::filesystem::exists(path)) throw Error(path + ": no such file");
  H5::Exception::dontPrint();
  if (H5Fis_hdf5(path.c_str()) <= 0) throw Error(path + ": not an HDF5 file (expected an LMQ codec)");
  std::vector<double> boundaries, levels;
  double clip_max = 0;
  int bins = 0;
  uint64_t fit_voxels = 0;
  std::string fit_split;
  try {
    H5::H5File f(path, H5F_ACC_RDONLY);
    auto read_vec = [&](const char* name) {
      H5::DataSet ds = f.openDataSet(name);
      hsize_t n = 0;
      if (ds.getSpace().getSimpleExtentNdims() != 1) throw Error(path + ": codec dataset '" + name + "' is not 1-D");
      ds.getSpace().getSimpleExtentDims(&n);
      std::vector<double> v(n);
      ds.read(v.data(), H5::PredType::NATIVE_DOUBLE);
      return v;
    };
    boundaries = read_vec("boundaries");
    levels = read_vec("levels");
    H5::Group root = f.openGroup("/");
    root.openAttribute("bins").read(H5::PredType::NATIVE_INT, &bins);
    root.openAttribute("clip_max").read(H5::PredType::NATIVE_DOUBLE, &clip_max);
    if (root.attrExists("fit_voxels")) root.openAttribute("fit_voxels").read(H5::PredType::NATIVE_UINT64, &fit_voxels);
    if (root.attrExists("fit_split")) {
      H5::Attribute a = root.openAttribute("fit_split");
      a.read(a.getStrType(), fit_split);
    }
  } catch (const H5::Exception& e) {
    throw Error(path + ": not a readable LMQ codec (" + e.getDetailMsg() + ")");
  }
  if (static_cast<int>(levels.size()) != bins || boundaries.size() + 1 != levels.size())
    throw Error(path + ": codec has " + std::to_string(levels.size()) + " levels and " +
                std::to_string(boundaries.size()) + " boundaries for bins=" + std::to_string(bins));
  LmqCodec c;
  try {
    c = LmqCodec(levels, clip_max);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  c.boundaries_ = boundaries;  // keep the stored boundaries bit-exact
  for (size_t j = 1; j < boundaries.size(); ++j)
    if (!(boundaries[j] > boundaries[j - 1])) throw Error(path + ": codec boundaries are not strictly ascending");
  c.build_tables();
  c.fit_split = fit_split;
  c.fit_voxels = fit_voxels;
  return c;
}

double codec_floor_nmae(const LmqCodec& codec, const std::vector<float>& density) {
  double err = 0, norm = 0;
  for (float v : density) {
    err += std::fabs(static_cast<double>(codec.decode(codec.encode(v))) - v);
    norm += std::fabs(v);
  }
  return norm > 0 ? err / norm : 0.0;
}

}  // namespace rhotrain
