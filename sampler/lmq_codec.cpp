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

// A key per float that orders as the floats do (−0 and +0 alike): flip every bit of a negative, the sign bit of the rest.
uint32_t order_key(float v) {
  if (v == 0.0f) return 0x80000000u;
  const uint32_t b = float_bits(v);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

// The key of the smallest float that is ≥ b.
uint32_t threshold_key(double b) {
  float f = static_cast<float>(b);
  if (static_cast<double>(f) < b) f = std::nextafter(f, INFINITY);
  return order_key(f);
}

}  // namespace

// ---------------------------------------------------------------- histogram

DensityHistogram::DensityHistogram(int bins, double lo, double hi, bool signed_values)
    : lo_(lo), log_lo_(std::log(lo)), inv_log_step_(bins / (std::log(hi) - std::log(lo))), signed_(signed_values),
      count_(static_cast<size_t>(bins) + 1, 0), negative_count_(signed_values ? static_cast<size_t>(bins) + 1 : 0, 0),
      sum_(static_cast<size_t>(bins) + 1, 0.0), negative_sum_(signed_values ? static_cast<size_t>(bins) + 1 : 0, 0.0) {}

// Bin 0 holds magnitudes ≤ lo; bins 1..n log-spaced cells up to hi, larger magnitudes in the last.
size_t DensityHistogram::bin_of(double magnitude) const {
  if (magnitude <= lo_) return 0;
  return std::min(count_.size() - 1, 1 + static_cast<size_t>((std::log(magnitude) - log_lo_) * inv_log_step_));
}

void DensityHistogram::add(const float* values, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const double v = values[i] > 0 || (signed_ && values[i] < 0) ? values[i] : 0.0;
    if (v < 0 && -v > lo_) {
      const size_t b = bin_of(-v);
      ++negative_count_[b];
      negative_sum_[b] += v;
    } else {
      const size_t b = bin_of(v);
      ++count_[b];
      sum_[b] += v;
    }
    max_ = std::max(max_, v);
    min_ = std::min(min_, v);
  }
  total_ += n;
}

std::vector<DensityHistogram::Cell> DensityHistogram::cells() const {
  std::vector<Cell> out;
  for (size_t b = negative_count_.size(); b-- > 0;)
    if (negative_count_[b] > 0) out.push_back({static_cast<double>(negative_count_[b]), negative_sum_[b] / static_cast<double>(negative_count_[b])});
  for (size_t b = 0; b < count_.size(); ++b)
    if (count_[b] > 0) out.push_back({static_cast<double>(count_[b]), sum_[b] / static_cast<double>(count_[b])});
  return out;
}

// ---------------------------------------------------------------- codec

LmqCodec::LmqCodec(std::vector<double> levels, double clip_max, double clip_min)
    : levels_(std::move(levels)), clip_max_(clip_max), clip_min_(clip_min) {
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
  for (const auto& cell : hist.cells()) w.push_back(cell.count), x.push_back(cell.mean);
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
  LmqCodec codec(levels, hist.max_value(), hist.min_value());
  codec.fit_voxels = hist.voxels();
  return codec;
}

uint32_t LmqCodec::clip_key(float v) const {
  const uint32_t key = v == v ? order_key(v) : order_key(0.0f);  // NaN as 0
  return std::clamp(key, min_key_, max_key_);
}

void LmqCodec::build_tables() {
  last_ = static_cast<int>(boundaries_.size());
  // The clip range as floats inside it: the largest float ≤ clip_max, the smallest ≥ clip_min.
  float hi = static_cast<float>(clip_max_), lo = static_cast<float>(clip_min_);
  if (static_cast<double>(hi) > clip_max_) hi = std::nextafter(hi, -INFINITY);
  if (static_cast<double>(lo) < clip_min_) lo = std::nextafter(lo, INFINITY);
  min_key_ = order_key(lo);
  max_key_ = std::max(min_key_, order_key(hi));
  threshold_key_.resize(boundaries_.size());
  for (size_t j = 0; j < boundaries_.size(); ++j) threshold_key_[j] = threshold_key(boundaries_[j]);
  bucket_start_.assign(((max_key_ - min_key_) >> kBucketShift) + 1, 0);
  size_t i = 0;
  for (size_t u = 0; u < bucket_start_.size(); ++u) {
    const uint32_t first = min_key_ + (static_cast<uint32_t>(u) << kBucketShift);
    while (i < threshold_key_.size() && threshold_key_[i] <= first) ++i;
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
    root.createAttribute("clip_min", H5::PredType::NATIVE_DOUBLE, scalar).write(H5::PredType::NATIVE_DOUBLE, &clip_min_);
    root.createAttribute("atoms_fingerprint", H5::PredType::NATIVE_UINT64, scalar).write(H5::PredType::NATIVE_UINT64, &atoms_fingerprint);
    root.createAttribute("fit_voxels", H5::PredType::NATIVE_UINT64, scalar).write(H5::PredType::NATIVE_UINT64, &fit_voxels);
    H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
    root.createAttribute("fit_split", t, scalar).write(t, fit_split);
    root.createAttribute("target", t, scalar).write(t, target);
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
  double clip_max = 0, clip_min = 0;
  int bins = 0;
  uint64_t fit_voxels = 0, atoms_fingerprint = 0;
  std::string fit_split, target = "density";  // codecs written before residuals were a target encode ρ
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
    if (root.attrExists("clip_min")) root.openAttribute("clip_min").read(H5::PredType::NATIVE_DOUBLE, &clip_min);
    if (root.attrExists("fit_voxels")) root.openAttribute("fit_voxels").read(H5::PredType::NATIVE_UINT64, &fit_voxels);
    if (root.attrExists("atoms_fingerprint")) root.openAttribute("atoms_fingerprint").read(H5::PredType::NATIVE_UINT64, &atoms_fingerprint);
    for (auto [name, text] : {std::pair<const char*, std::string*>{"fit_split", &fit_split}, {"target", &target}})
      if (root.attrExists(name)) {
        H5::Attribute a = root.openAttribute(name);
        a.read(a.getStrType(), *text);
      }
  } catch (const H5::Exception& e) {
    throw Error(path + ": not a readable LMQ codec (" + e.getDetailMsg() + ")");
  }
  if (static_cast<int>(levels.size()) != bins || boundaries.size() + 1 != levels.size())
    throw Error(path + ": codec has " + std::to_string(levels.size()) + " levels and " +
                std::to_string(boundaries.size()) + " boundaries for bins=" + std::to_string(bins));
  LmqCodec c;
  try {
    c = LmqCodec(levels, clip_max, clip_min);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  c.boundaries_ = boundaries;  // keep the stored boundaries bit-exact
  for (size_t j = 1; j < boundaries.size(); ++j)
    if (!(boundaries[j] > boundaries[j - 1])) throw Error(path + ": codec boundaries are not strictly ascending");
  c.build_tables();
  if (target != "density" && target != "residual") throw Error(path + ": codec target '" + target + "' is neither density nor residual");
  c.fit_split = fit_split;
  c.fit_voxels = fit_voxels;
  c.target = target;
  c.atoms_fingerprint = atoms_fingerprint;
  return c;
}

double codec_floor_nmae(const LmqCodec& codec, const std::vector<float>& density, const std::vector<float>& atoms) {
  double err = 0, norm = 0;
  for (size_t i = 0; i < density.size(); ++i) {
    const float v = density[i];
    err += std::fabs(static_cast<double>(codec_round_trip(codec, v, atoms.empty() ? 0.0f : atoms[i])) - v);
    norm += std::fabs(v);
  }
  return norm > 0 ? err / norm : 0.0;
}

}  // namespace rhotrain
