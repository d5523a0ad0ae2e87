#include "materials/atomic_density.h"

#include <H5Cpp.h>

#include <unsupported/Eigen/FFT>
#include <algorithm>
#include <atomic>
#include <cmath>
#include <complex>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <thread>

#include "common/elements.h"
#include "common/error.h"
#include "common/files.h"

namespace rhotrain {
namespace {

using Complex = std::complex<double>;

// Each Gaussian is summed until it has fallen to kTail of its peak: out to kReach·σ in real space, and out to
// |G| = kReach/σ in reciprocal space, where its transform has fallen as far.
constexpr double kTail = 1e-12;
const double kReach = std::sqrt(2 * std::log(1 / kTail));

constexpr const char* kFormat = "rhotrain-atomic-density";
constexpr int kVersion = 1;

int wrap(long u, int n) { return static_cast<int>(((u % n) + n) % n); }

// The unscaled inverse DFT of a [n0][n1][n2] spectrum, one axis after the other (Eigen's kissfft: any size).
void inverse_dft_3d(std::vector<Complex>& a, const Grid& n) {
  Eigen::FFT<double> fft;
  fft.SetFlag(Eigen::FFT<double>::Unscaled);
  const size_t n0 = static_cast<size_t>(n[0]), n1 = static_cast<size_t>(n[1]), n2 = static_cast<size_t>(n[2]);
  const size_t stride[3] = {n1 * n2, n2, 1};
  std::vector<Complex> in, out;
  for (int axis = 0; axis < 3; ++axis) {
    const size_t len = static_cast<size_t>(n[axis]), s = stride[axis];
    in.resize(len), out.resize(len);
    // Every line along `axis`: its first element runs over the other two axes.
    for (size_t i = 0; i < (axis == 0 ? 1 : n0); ++i)
      for (size_t j = 0; j < (axis == 1 ? 1 : n1); ++j)
        for (size_t k = 0; k < (axis == 2 ? 1 : n2); ++k) {
          const size_t first = i * n1 * n2 + j * n2 + k;
          for (size_t t = 0; t < len; ++t) in[t] = a[first + t * s];
          fft.inv(out, in);
          for (size_t t = 0; t < len; ++t) a[first + t * s] = out[t];
        }
  }
}

// How much work summing the widths of `order` up to `split` in real space and the rest in reciprocal space takes, in
// rough units of one inner-loop step: real space visits a box of voxels around every atom for its widest width;
// reciprocal space visits a box of frequencies for its narrowest and transforms each column it fills.
double split_cost(const MaterialMeta& m, const Eigen::Matrix3d& inverse, const std::vector<double>& sorted, size_t split,
                  size_t recip_columns) {
  const double atoms = static_cast<double>(m.n_atoms()), voxels = static_cast<double>(voxel_count(m.grid));
  double cost = 0;
  for (size_t k = 0; k < split; ++k) {
    double box = 1;
    for (int i = 0; i < 3; ++i) box *= 2 * kReach * sorted[k] * inverse.col(i).norm() * m.grid[i] + 1;
    cost += atoms * box;
  }
  if (split < sorted.size()) {
    const double g = kReach / sorted[split];
    double box = 1;
    for (int i = 0; i < 3; ++i) box *= 2 * std::floor(g * m.lattice.row(i).norm() / (2 * M_PI)) + 1;
    cost += box * atoms * static_cast<double>(1 + sorted.size() - split) +
            static_cast<double>(recip_columns) * voxels * (std::log2(voxels) + 3) * 4;
  }
  return cost;
}

}  // namespace

Eigen::MatrixXd periodic_gaussian_columns(const MaterialMeta& m, const std::vector<double>& widths, const std::vector<int>& column,
                                          const std::vector<double>& weight, int columns) {
  const size_t K = widths.size(), N = m.n_atoms();
  if (column.size() != N * K || weight.size() != N * K) throw Error("periodic_gaussian_columns: one column and weight per atom and width");
  const Grid& n = m.grid;
  const size_t voxels = voxel_count(n);
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(voxels), columns);
  if (N == 0 || K == 0 || voxels == 0) return out;
  const Eigen::Matrix3d& A = m.lattice;  // rows a, b, c
  const Eigen::Matrix3d inverse = A.inverse();
  const double volume = std::abs(A.determinant());
  std::vector<Eigen::Vector3d> frac(N);
  for (size_t a = 0; a < N; ++a)
    for (int i = 0; i < 3; ++i) frac[a][i] = m.frac_coords[a][i] - std::floor(m.frac_coords[a][i]);

  // Widths narrowest first; those before `split` go in real space, the others in reciprocal space.
  std::vector<size_t> order(K);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t x, size_t y) { return widths[x] < widths[y]; });
  std::vector<double> sorted(K);
  for (size_t k = 0; k < K; ++k) sorted[k] = widths[order[k]];
  size_t split = 0;
  double best = -1;
  for (size_t s = 0; s <= K; ++s) {
    std::vector<int> used;
    for (size_t a = 0; a < N; ++a)
      for (size_t k = s; k < K; ++k)
        if (const int c = column[a * K + order[k]]; c >= 0 && std::find(used.begin(), used.end(), c) == used.end()) used.push_back(c);
    const double cost = split_cost(m, inverse, sorted, s, used.size());
    if (best < 0 || cost < best) best = cost, split = s;
  }

  // ---- real space: every unwrapped voxel u within reach of an atom is one (voxel, image) pair
  if (split > 0) {
    const double reach = kReach * sorted[split - 1], reach2 = reach * reach;
    std::vector<double> reach2_of(split), inv_2s2(split);
    for (size_t k = 0; k < split; ++k) reach2_of[k] = std::pow(kReach * sorted[k], 2), inv_2s2[k] = 1 / (2 * sorted[k] * sorted[k]);
    for (size_t a = 0; a < N; ++a) {
      long lo[3], hi[3];
      std::vector<Eigen::Vector3d> step[3];  // (u/n_i − f_i)·a_i for each u of the box along axis i
      std::vector<int> wrapped[3];
      for (int i = 0; i < 3; ++i) {
        const double half = reach * inverse.col(i).norm();
        lo[i] = static_cast<long>(std::ceil((frac[a][i] - half) * n[i]));
        hi[i] = static_cast<long>(std::floor((frac[a][i] + half) * n[i]));
        for (long u = lo[i]; u <= hi[i]; ++u) {
          step[i].push_back((static_cast<double>(u) / n[i] - frac[a][i]) * A.row(i).transpose());
          wrapped[i].push_back(wrap(u, n[i]));
        }
      }
      for (size_t u0 = 0; u0 < step[0].size(); ++u0)
        for (size_t u1 = 0; u1 < step[1].size(); ++u1) {
          const Eigen::Vector3d d01 = step[0][u0] + step[1][u1];
          const size_t row = (static_cast<size_t>(wrapped[0][u0]) * static_cast<size_t>(n[1]) + static_cast<size_t>(wrapped[1][u1])) *
                             static_cast<size_t>(n[2]);
          for (size_t u2 = 0; u2 < step[2].size(); ++u2) {
            const double r2 = (d01 + step[2][u2]).squaredNorm();
            if (r2 >= reach2) continue;
            const Eigen::Index v = static_cast<Eigen::Index>(row + static_cast<size_t>(wrapped[2][u2]));
            for (size_t k = split; k-- > 0 && r2 < reach2_of[k];) {
              const size_t ak = a * K + order[k];
              if (column[ak] >= 0) out(v, column[ak]) += weight[ak] * std::exp(-r2 * inv_2s2[k]);
            }
          }
        }
    }
  }

  // ---- reciprocal space: (1/V) Σ_G ĝ(|G|) Σ_a e^{−iG·R_a} e^{iG·r}, each G folded onto the grid's frequency h mod n
  if (split < K) {
    const double g_max = kReach / sorted[split], g_max2 = g_max * g_max;
    const Eigen::Matrix3d recip = 2 * M_PI * inverse.transpose();  // rows b_i: a_i · b_j = 2π δ_ij
    long H[3];
    for (int i = 0; i < 3; ++i) H[i] = static_cast<long>(std::floor(g_max * A.row(i).norm() / (2 * M_PI)));
    // e^{−2πi h f_i} per atom and axis, h = −H_i … H_i
    std::vector<std::vector<Complex>> phase[3];
    for (int i = 0; i < 3; ++i) {
      phase[i].resize(N);
      for (size_t a = 0; a < N; ++a)
        for (long h = -H[i]; h <= H[i]; ++h) phase[i][a].push_back(std::polar(1.0, -2 * M_PI * static_cast<double>(h) * frac[a][i]));
    }
    std::map<int, size_t> spectrum_of;
    for (size_t a = 0; a < N; ++a)
      for (size_t k = split; k < K; ++k)
        if (const int c = column[a * K + order[k]]; c >= 0) spectrum_of.emplace(c, spectrum_of.size());
    std::vector<std::vector<Complex>> spectra(spectrum_of.size(), std::vector<Complex>(voxels));
    std::vector<double> g_cut2(K), transform(K);
    for (size_t k = split; k < K; ++k) g_cut2[k] = std::pow(kReach / sorted[k], 2);
    for (long h0 = -H[0]; h0 <= H[0]; ++h0)
      for (long h1 = -H[1]; h1 <= H[1]; ++h1)
        for (long h2 = -H[2]; h2 <= H[2]; ++h2) {
          const Eigen::Vector3d G = static_cast<double>(h0) * recip.row(0) + static_cast<double>(h1) * recip.row(1) +
                                    static_cast<double>(h2) * recip.row(2);
          const double g2 = G.squaredNorm();
          if (g2 > g_max2) continue;
          size_t last = split;  // widths split … last−1 still reach this |G|
          for (size_t k = split; k < K && g2 <= g_cut2[k]; ++k, ++last)
            transform[k] = std::pow(2 * M_PI * sorted[k] * sorted[k], 1.5) * std::exp(-0.5 * sorted[k] * sorted[k] * g2) / volume;
          const size_t f = (static_cast<size_t>(wrap(h0, n[0])) * static_cast<size_t>(n[1]) + static_cast<size_t>(wrap(h1, n[1]))) *
                               static_cast<size_t>(n[2]) + static_cast<size_t>(wrap(h2, n[2]));
          for (size_t a = 0; a < N; ++a) {
            const Complex p = phase[0][a][static_cast<size_t>(h0 + H[0])] * phase[1][a][static_cast<size_t>(h1 + H[1])] *
                              phase[2][a][static_cast<size_t>(h2 + H[2])];
            for (size_t k = split; k < last; ++k) {
              const size_t ak = a * K + order[k];
              if (column[ak] >= 0) spectra[spectrum_of[column[ak]]][f] += weight[ak] * transform[k] * p;
            }
          }
        }
    for (const auto& [c, s] : spectrum_of) {
      inverse_dft_3d(spectra[s], n);
      for (size_t v = 0; v < voxels; ++v) out(static_cast<Eigen::Index>(v), c) += spectra[s][v].real();
    }
  }
  return out;
}

// ---------------------------------------------------------------- the model

std::vector<double> AtomicDensity::default_widths() {
  std::vector<double> w(16);
  for (size_t k = 0; k < w.size(); ++k) w[k] = 0.1 * std::pow(20.0, static_cast<double>(k) / 15.0);
  return w;
}

AtomicDensity::AtomicDensity(std::vector<double> widths, std::map<int, std::vector<double>> coefficients)
    : widths_(std::move(widths)), coefficients_(std::move(coefficients)) {
  for (double s : widths_)
    if (!(s > 0) || !std::isfinite(s)) throw Error("atomic density: widths must be positive, not " + std::to_string(s));
  for (const auto& [z, c] : coefficients_) {
    if (c.size() != widths_.size())
      throw Error("atomic density: element " + std::to_string(z) + " has " + std::to_string(c.size()) + " coefficients for " +
                  std::to_string(widths_.size()) + " widths");
    for (double x : c)
      if (!std::isfinite(x)) throw Error("atomic density: element " + std::to_string(z) + " has a non-finite coefficient");
  }
}

std::string AtomicDensity::unseen_elements(const std::vector<int>& numbers) const {
  std::vector<int> unseen;
  for (int z : numbers)
    if (!knows(z) && std::find(unseen.begin(), unseen.end(), z) == unseen.end()) unseen.push_back(z);
  std::sort(unseen.begin(), unseen.end());
  std::string out;
  for (int z : unseen) out += (out.empty() ? "" : ", ") + element_symbol(z);
  return out;
}

double AtomicDensity::profile(int z, double r) const {
  const auto& c = coefficients_.at(z);
  double f = 0;
  for (size_t k = 0; k < widths_.size(); ++k) f += c[k] * std::exp(-r * r / (2 * widths_[k] * widths_[k]));
  return f;
}

double AtomicDensity::electrons(int z) const {
  const auto& c = coefficients_.at(z);
  double q = 0;
  for (size_t k = 0; k < widths_.size(); ++k) q += c[k] * std::pow(2 * M_PI * widths_[k] * widths_[k], 1.5);
  return q;
}

double AtomicDensity::electrons(const std::vector<int>& numbers) const {
  double q = 0;
  for (int z : numbers) q += electrons(z);
  return q;
}

std::vector<float> AtomicDensity::grid(const MaterialMeta& m) const {
  if (const std::string unseen = unseen_elements(m.numbers); !unseen.empty())
    throw Error(m.id + ": " + unseen + " not in the atomic-density fit (fitted on split '" + fit_split + "')");
  const size_t K = widths_.size();
  std::vector<int> column(m.n_atoms() * K, 0);
  std::vector<double> weight(m.n_atoms() * K);
  for (size_t a = 0; a < m.n_atoms(); ++a)
    for (size_t k = 0; k < K; ++k) weight[a * K + k] = coefficients_.at(m.numbers[a])[k];
  const Eigen::MatrixXd sum = periodic_gaussian_columns(m, widths_, column, weight, 1);
  std::vector<float> out(static_cast<size_t>(sum.rows()));
  for (Eigen::Index v = 0; v < sum.rows(); ++v) out[static_cast<size_t>(v)] = static_cast<float>(sum(v, 0));
  return out;
}

uint64_t AtomicDensity::fingerprint() const {
  uint64_t h = 1469598103934665603ull;  // FNV-1a over the bytes of widths, elements and coefficients
  auto add = [&](const void* p, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<const unsigned char*>(p)[i]) * 1099511628211ull;
  };
  for (double w : widths_) add(&w, sizeof w);
  for (const auto& [z, c] : coefficients_) {
    add(&z, sizeof z);
    for (double x : c) add(&x, sizeof x);
  }
  return h;
}

void AtomicDensity::save(const std::string& path) const {
  PendingFile pending(path);
  try {
    H5::H5File f(pending.temp_path(), H5F_ACC_TRUNC);
    const hsize_t K = widths_.size(), E = coefficients_.size(), dims[2] = {E, K};
    std::vector<int> elements;
    std::vector<double> table;
    for (const auto& [z, c] : coefficients_) elements.push_back(z), table.insert(table.end(), c.begin(), c.end());
    f.createDataSet("widths", H5::PredType::NATIVE_DOUBLE, H5::DataSpace(1, &K)).write(widths_.data(), H5::PredType::NATIVE_DOUBLE);
    f.createDataSet("elements", H5::PredType::NATIVE_INT32, H5::DataSpace(1, &E)).write(elements.data(), H5::PredType::NATIVE_INT32);
    f.createDataSet("coefficients", H5::PredType::NATIVE_DOUBLE, H5::DataSpace(2, dims)).write(table.data(), H5::PredType::NATIVE_DOUBLE);
    H5::Group root = f.openGroup("/");
    const H5::DataSpace scalar(H5S_SCALAR);
    H5::StrType text(H5::PredType::C_S1, H5T_VARIABLE);
    root.createAttribute("format", text, scalar).write(text, std::string(kFormat));
    root.createAttribute("version", H5::PredType::NATIVE_INT, scalar).write(H5::PredType::NATIVE_INT, &kVersion);
    root.createAttribute("fit_split", text, scalar).write(text, fit_split);
    root.createAttribute("fit_materials", H5::PredType::NATIVE_UINT64, scalar).write(H5::PredType::NATIVE_UINT64, &fit_materials);
    root.createAttribute("fit_voxels", H5::PredType::NATIVE_UINT64, scalar).write(H5::PredType::NATIVE_UINT64, &fit_voxels);
    root.createAttribute("ridge", H5::PredType::NATIVE_DOUBLE, scalar).write(H5::PredType::NATIVE_DOUBLE, &ridge);
  } catch (const H5::Exception& e) {
    throw Error(path + ": cannot write the atomic-density fit (" + e.getDetailMsg() + ")");
  }
  pending.commit();
}

AtomicDensity AtomicDensity::load(const std::string& path) {
  if (!std::filesystem::exists(path)) throw Error(path + ": no such file");
  H5::Exception::dontPrint();
  if (H5Fis_hdf5(path.c_str()) <= 0) throw Error(path + ": not an HDF5 file (expected an atomic-density fit)");
  std::vector<double> widths, table;
  std::vector<int> elements;
  AtomicDensity loaded;
  try {
    H5::H5File f(path, H5F_ACC_RDONLY);
    H5::Group root = f.openGroup("/");
    std::string format;
    if (root.attrExists("format")) {
      H5::Attribute a = root.openAttribute("format");
      a.read(a.getStrType(), format);
    }
    if (format != kFormat) throw Error(path + ": not an atomic-density fit (format '" + format + "', expected '" + kFormat + "')");
    int version = 0;
    root.openAttribute("version").read(H5::PredType::NATIVE_INT, &version);
    if (version != kVersion) throw Error(path + ": atomic-density fit version " + std::to_string(version) + ", this build reads " + std::to_string(kVersion));
    auto dims = [&](const char* name, int rank) {
      H5::DataSet ds = f.openDataSet(name);
      if (ds.getSpace().getSimpleExtentNdims() != rank) throw Error(path + ": dataset '" + name + "' is not " + std::to_string(rank) + "-D");
      std::vector<hsize_t> d(static_cast<size_t>(rank));
      ds.getSpace().getSimpleExtentDims(d.data());
      return std::make_pair(ds, d);
    };
    auto [wds, wd] = dims("widths", 1);
    auto [eds, ed] = dims("elements", 1);
    auto [cds, cd] = dims("coefficients", 2);
    if (cd[0] != ed[0] || cd[1] != wd[0])
      throw Error(path + ": coefficients are " + std::to_string(cd[0]) + "×" + std::to_string(cd[1]) + " for " + std::to_string(ed[0]) +
                  " elements and " + std::to_string(wd[0]) + " widths");
    widths.resize(wd[0]), elements.resize(ed[0]), table.resize(cd[0] * cd[1]);
    wds.read(widths.data(), H5::PredType::NATIVE_DOUBLE);
    eds.read(elements.data(), H5::PredType::NATIVE_INT32);
    cds.read(table.data(), H5::PredType::NATIVE_DOUBLE);
    std::map<int, std::vector<double>> coefficients;
    for (size_t e = 0; e < elements.size(); ++e) {
      if (elements[e] < 1 || elements[e] > kMaxZ) throw Error(path + ": element " + std::to_string(elements[e]) + " is not an atomic number");
      coefficients[elements[e]].assign(table.begin() + static_cast<long>(e * wd[0]), table.begin() + static_cast<long>((e + 1) * wd[0]));
    }
    try {
      loaded = AtomicDensity(widths, coefficients);
    } catch (const Error& e) {
      throw Error(path + ": " + e.what());
    }
    H5::Attribute split = root.openAttribute("fit_split");
    split.read(split.getStrType(), loaded.fit_split);
    root.openAttribute("fit_materials").read(H5::PredType::NATIVE_UINT64, &loaded.fit_materials);
    root.openAttribute("fit_voxels").read(H5::PredType::NATIVE_UINT64, &loaded.fit_voxels);
    root.openAttribute("ridge").read(H5::PredType::NATIVE_DOUBLE, &loaded.ridge);
  } catch (const H5::Exception& e) {
    throw Error(path + ": not a readable atomic-density fit (" + e.getDetailMsg() + ")");
  }
  return loaded;
}

// ---------------------------------------------------------------- the fit

namespace {

// One material's share of the normal equations, over the (element, width) columns of its own elements.
struct NormalShare {
  std::vector<int> elements;  // its distinct elements, ascending
  Eigen::MatrixXd gram;       // Σ_v w·b_v b_vᵀ
  Eigen::VectorXd rhs;        // Σ_v w·b_v ρ_v
  uint64_t voxels = 0;
};

NormalShare normal_share(const Material& m, const std::vector<double>& widths) {
  NormalShare s;
  s.elements = m.numbers;
  std::sort(s.elements.begin(), s.elements.end());
  s.elements.erase(std::unique(s.elements.begin(), s.elements.end()), s.elements.end());
  const size_t K = widths.size();
  std::vector<int> column(m.n_atoms() * K);
  for (size_t a = 0; a < m.n_atoms(); ++a) {
    const size_t e = static_cast<size_t>(std::lower_bound(s.elements.begin(), s.elements.end(), m.numbers[a]) - s.elements.begin());
    for (size_t k = 0; k < K; ++k) column[a * K + k] = static_cast<int>(e * K + k);
  }
  const Eigen::MatrixXd basis = periodic_gaussian_columns(m, widths, column, std::vector<double>(column.size(), 1.0),
                                                          static_cast<int>(s.elements.size() * K));
  Eigen::VectorXd rho(static_cast<Eigen::Index>(m.density.size()));
  double mean_abs = 0;
  for (size_t v = 0; v < m.density.size(); ++v) rho(static_cast<Eigen::Index>(v)) = m.density[v], mean_abs += std::abs(m.density[v]);
  mean_abs /= static_cast<double>(m.density.size());
  if (!(mean_abs > 0)) throw Error(m.id + ": the density is zero everywhere; it cannot be fitted");
  // Each material's squared error relative to its voxels × mean|ρ|², as NMAE is relative to Σ|ρ|.
  const double w = 1 / (static_cast<double>(m.density.size()) * mean_abs * mean_abs);
  s.gram = w * (basis.transpose() * basis);
  s.rhs = w * (basis.transpose() * rho);
  s.voxels = m.density.size();
  return s;
}

}  // namespace

AtomicDensity fit_atomic_density(const MaterialStore& store, const std::string& split, const AtomicFitOptions& options) {
  const std::vector<std::string> ids = store.split(split);
  const std::vector<double>& widths = options.widths;
  const size_t K = widths.size();
  if (K == 0) throw Error("atomic density: no widths to fit");
  std::map<int, size_t> element_index;
  for (const auto& id : ids)
    for (int z : store.meta(id).numbers) element_index.emplace(z, 0);
  size_t next = 0;
  for (auto& [z, e] : element_index) e = next++;

  // The shares are computed on any thread but summed in split order, so the fit is the same for any thread count.
  std::vector<NormalShare> shares(ids.size());
  std::atomic<size_t> claimed{0}, done{0};
  std::mutex failure_mutex, progress_mutex;
  std::string failure;
  auto work = [&] {
    for (size_t i = claimed++; i < ids.size(); i = claimed++) {
      try {
        shares[i] = normal_share(store.read(ids[i]), widths);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (failure.empty()) failure = e.what();
        claimed = ids.size();
        return;
      }
      std::lock_guard<std::mutex> lock(progress_mutex);
      ++done;
      if (options.progress) options.progress(done, ids.size());
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < std::max(1, options.threads); ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (!failure.empty()) throw Error(failure);

  const Eigen::Index U = static_cast<Eigen::Index>(element_index.size() * K);
  Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(U, U);
  Eigen::VectorXd rhs = Eigen::VectorXd::Zero(U);
  uint64_t voxels = 0;
  for (const auto& s : shares) {
    std::vector<Eigen::Index> global;
    for (int z : s.elements)
      for (size_t k = 0; k < K; ++k) global.push_back(static_cast<Eigen::Index>(element_index.at(z) * K + k));
    for (size_t i = 0; i < global.size(); ++i) {
      rhs(global[i]) += s.rhs(static_cast<Eigen::Index>(i));
      for (size_t j = 0; j < global.size(); ++j) gram(global[i], global[j]) += s.gram(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j));
    }
    voxels += s.voxels;
  }
  // Gaussians of neighbouring widths overlap closely, so the system is ill-conditioned: scaled to a unit diagonal, a
  // small ridge keeps it solvable without pulling the fit.
  const Eigen::VectorXd scale = gram.diagonal().cwiseMax(1e-300).cwiseSqrt().cwiseInverse();
  Eigen::MatrixXd scaled = scale.asDiagonal() * gram * scale.asDiagonal();
  scaled.diagonal().array() += options.ridge;
  const Eigen::VectorXd solution = scale.asDiagonal() * scaled.ldlt().solve(scale.asDiagonal() * rhs);

  std::map<int, std::vector<double>> coefficients;
  for (const auto& [z, e] : element_index)
    for (size_t k = 0; k < K; ++k) coefficients[z].push_back(solution(static_cast<Eigen::Index>(e * K + k)));
  AtomicDensity fit(widths, coefficients);
  fit.fit_split = split;
  fit.fit_materials = ids.size();
  fit.fit_voxels = voxels;
  fit.ridge = options.ridge;
  return fit;
}

}  // namespace rhotrain
