#include "materials/synthetic.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <thread>

#include "common/error.h"
#include "common/files.h"
#include "common/random.h"
#include "materials/splits.h"
#include "materials/store.h"

namespace rhotrain {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr std::array<int, 8> kNobleGas = {0, 2, 10, 18, 36, 54, 86, 118};

// Period of Z and its relative position across that period (0 = alkali metal, 1 = noble gas).
std::pair<int, double> period_position(int z) {
  for (int p = 1; p < static_cast<int>(kNobleGas.size()); ++p)
    if (z <= kNobleGas[p]) {
      const int first = kNobleGas[p - 1] + 1, last = kNobleGas[p];
      return {p, last == first ? 0.0 : double(z - first) / double(last - first)};
    }
  return {7, 1.0};
}

// A covalent-radius-like size (Å): grows down a group, shrinks across a period.
double atomic_radius(int z) {
  if (z == 1) return 0.32;
  static const double alkali[8] = {0, 0.32, 1.28, 1.66, 2.03, 2.20, 2.44, 2.60};
  auto [p, t] = period_position(z);
  return alkali[p] * (1.0 - 0.55 * t);
}

bool is_d_or_f_block(int z) {
  return (z >= 21 && z <= 30) || (z >= 39 && z <= 48) || (z >= 57 && z <= 80) || (z >= 89 && z <= 112);
}

// A spherical charge of `charge` electrons around a centre, sampled on the grid and normalised on the
// grid itself, so the discrete integral is exactly `charge` whatever the grid spacing.
struct Blob {
  Eigen::Vector3d centre;  // Cartesian Å
  double charge;
  double shell_radius;  // 0 for a Gaussian at the centre
  double width;         // Å
};

void add_blob(const Blob& b, const Eigen::Matrix3d& lattice, const Grid& grid, double voxel_volume,
              std::vector<double>& rho, std::vector<std::pair<size_t, double>>& scratch) {
  const double cutoff = b.shell_radius + 4.0 * b.width;
  const Eigen::Matrix3d inv = lattice.inverse();
  const Eigen::Vector3d f0 = (b.centre.transpose() * inv).transpose();
  int lo[3], hi[3];
  for (int d = 0; d < 3; ++d) {
    const double reach = cutoff * inv.col(d).norm() * grid[d];
    const double c = f0[d] * grid[d];
    lo[d] = static_cast<int>(std::floor(c - reach));
    hi[d] = static_cast<int>(std::ceil(c + reach));
  }
  scratch.clear();
  double total = 0;
  const double inv_2w2 = 1.0 / (2.0 * b.width * b.width);
  for (int i = lo[0]; i <= hi[0]; ++i)
    for (int j = lo[1]; j <= hi[1]; ++j)
      for (int k = lo[2]; k <= hi[2]; ++k) {
        const Eigen::Vector3d f(double(i) / grid[0], double(j) / grid[1], double(k) / grid[2]);
        const double r = ((f.transpose() * lattice).transpose() - b.centre).norm();
        if (r > cutoff) continue;
        const double x = r - b.shell_radius;
        const double v = std::exp(-x * x * inv_2w2);
        const size_t idx = (size_t((i % grid[0] + grid[0]) % grid[0]) * grid[1] + size_t((j % grid[1] + grid[1]) % grid[1])) *
                               grid[2] + size_t((k % grid[2] + grid[2]) % grid[2]);
        scratch.emplace_back(idx, v);
        total += v;
      }
  if (total <= 0) {  // narrower than a voxel: put it all on the nearest voxel
    size_t idx = 0;
    for (int d = 0; d < 3; ++d) {
      const int n = grid[d];
      const int v = ((static_cast<int>(std::lround(f0[d] * n)) % n) + n) % n;
      idx = idx * static_cast<size_t>(n) + static_cast<size_t>(v);
    }
    scratch.assign(1, {idx, 1.0});
    total = 1.0;
  }
  const double scale = b.charge / (total * voxel_volume);
  for (const auto& [idx, v] : scratch) rho[idx] += v * scale;
}

Eigen::Matrix3d lattice_from_parameters(double a, double b, double c, double alpha, double beta, double gamma) {
  const double ca = std::cos(alpha), cb = std::cos(beta), cg = std::cos(gamma), sg = std::sin(gamma);
  Eigen::Matrix3d L;
  L.row(0) << a, 0, 0;
  L.row(1) << b * cg, b * sg, 0;
  const double cx = c * cb;
  const double cy = c * (ca - cb * cg) / sg;
  L.row(2) << cx, cy, std::sqrt(std::max(c * c - cx * cx - cy * cy, 1e-6));
  return L;
}

// Shortest Cartesian vector from a to b under periodic images (checks the 27 neighbouring cells).
Eigen::Vector3d min_image(const Eigen::Vector3d& fa, const Eigen::Vector3d& fb, const Eigen::Matrix3d& lattice) {
  Eigen::Vector3d df = fb - fa;
  for (int d = 0; d < 3; ++d) df[d] -= std::round(df[d]);
  Eigen::Vector3d best = (df.transpose() * lattice).transpose();
  for (int i = -1; i <= 1; ++i)
    for (int j = -1; j <= 1; ++j)
      for (int k = -1; k <= 1; ++k) {
        const Eigen::Vector3d v = ((df + Eigen::Vector3d(i, j, k)).transpose() * lattice).transpose();
        if (v.squaredNorm() < best.squaredNorm()) best = v;
      }
  return best;
}

}  // namespace

int synthetic_valence(int z) {
  int core = 0;
  for (int g : kNobleGas)
    if (g < z) core = g;
  return z - core;
}

Material synthetic_material(uint64_t seed, size_t index) {
  Rng rng(mix_seed(seed, index));
  Material m;
  char id[32];
  std::snprintf(id, sizeof id, "synth-%06zu", index);
  m.id = id;
  m.source = "synthetic seed=" + std::to_string(seed) + " index=" + std::to_string(index);

  // Atom count: log-normal around 10 with a long tail, as in Materials Project.
  const int n_atoms = std::clamp(static_cast<int>(std::lround(std::exp(std::log(10.0) + 0.75 * rng.normal()))), 1, 40);
  const double u = rng.uniform();
  const int n_species = std::min(n_atoms, u < 0.2 ? 1 : u < 0.6 ? 2 : u < 0.9 ? 3 : 4);
  std::vector<int> species;
  while (static_cast<int>(species.size()) < n_species) {
    const int z = 1 + static_cast<int>(rng.below(83));  // H … Bi
    if (std::find(species.begin(), species.end(), z) == species.end()) species.push_back(z);
  }
  std::vector<int> numbers(species.begin(), species.end());
  while (static_cast<int>(numbers.size()) < n_atoms) numbers.push_back(species[rng.below(species.size())]);
  std::sort(numbers.begin(), numbers.end());  // grouped by species, like a POSCAR
  m.numbers = numbers;

  // Cell: volume from atomic sizes and a packing fraction, then a shape, lengths kept in 3–14 Å.
  double atom_volume = 0;
  for (int z : numbers) atom_volume += 4.0 / 3.0 * kPi * std::pow(atomic_radius(z), 3);
  const double volume = std::max(atom_volume / rng.uniform(0.35, 0.55), 8.0 * n_atoms);
  const double shape = rng.uniform();
  double alpha = kPi / 2, beta = kPi / 2, gamma = kPi / 2;
  if (shape < 0.2) {
    gamma = 2 * kPi / 3;
  } else if (shape < 0.5) {
    alpha = rng.uniform(75, 105) * kPi / 180;
    beta = rng.uniform(75, 105) * kPi / 180;
    gamma = rng.uniform(75, 105) * kPi / 180;
  }
  double ratio[3] = {std::exp(0.2 * rng.normal()), std::exp(0.2 * rng.normal()), std::exp(0.2 * rng.normal())};
  const Eigen::Matrix3d unit = lattice_from_parameters(ratio[0], ratio[1], ratio[2], alpha, beta, gamma);
  const double scale = std::cbrt(volume / cell_volume(unit));
  double len[3];
  for (int d = 0; d < 3; ++d) len[d] = std::clamp(ratio[d] * scale, 3.0, 14.0);
  m.lattice = lattice_from_parameters(len[0], len[1], len[2], alpha, beta, gamma);

  // Positions: random, keeping atoms apart (best of many tries when the cell is crowded).
  for (int a = 0; a < n_atoms; ++a) {
    Eigen::Vector3d best(0, 0, 0);
    double best_margin = -1e9;
    for (int attempt = 0; attempt < 200; ++attempt) {
      const Eigen::Vector3d f(rng.uniform(), rng.uniform(), rng.uniform());
      double margin = 1e9;
      for (int b = 0; b < a; ++b) {
        const double need = std::max(1.0, 0.8 * (atomic_radius(numbers[a]) + atomic_radius(numbers[b])));
        margin = std::min(margin, min_image(m.frac_coords[b], f, m.lattice).norm() - need);
      }
      if (margin > best_margin) best_margin = margin, best = f;
      if (margin >= 0) break;
    }
    m.frac_coords.push_back(best);
  }

  // Grid spacing about 0.25–0.35 Å.
  const double spacing = rng.uniform(0.25, 0.35);
  for (int d = 0; d < 3; ++d)
    m.grid[d] = std::clamp(static_cast<int>(std::lround(m.lattice.row(d).norm() / spacing)), 12, 56);

  // Density: each atom's valence split between a compact core-region Gaussian and an outer shell
  // (d/f elements more compact), minus what it donates to bond charges between close neighbours.
  std::vector<double> charge(n_atoms);
  for (int a = 0; a < n_atoms; ++a) charge[a] = synthetic_valence(numbers[a]);
  const double total = std::accumulate(charge.begin(), charge.end(), 0.0);
  std::vector<Blob> blobs;
  for (int a = 0; a < n_atoms; ++a)
    for (int b = a + 1; b < n_atoms; ++b) {
      const double ra = atomic_radius(numbers[a]), rb = atomic_radius(numbers[b]);
      const Eigen::Vector3d v = min_image(m.frac_coords[a], m.frac_coords[b], m.lattice);
      const double d = v.norm();
      if (d > 1.25 * (ra + rb)) continue;
      const double q = 0.06 * std::min(charge[a], charge[b]);
      charge[a] -= q / 2;
      charge[b] -= q / 2;
      const Eigen::Vector3d ca = (m.frac_coords[a].transpose() * m.lattice).transpose();
      blobs.push_back({ca + 0.5 * v, q, 0.0, 0.12 * d + 0.15});
    }
  for (int a = 0; a < n_atoms; ++a) {
    const double r = atomic_radius(numbers[a]);
    const double compact = is_d_or_f_block(numbers[a]) ? 0.65 : 0.35;
    const Eigen::Vector3d c = (m.frac_coords[a].transpose() * m.lattice).transpose();
    blobs.push_back({c, charge[a] * compact, 0.0, 0.18 * r + 0.12});
    blobs.push_back({c, charge[a] * (1 - compact), 0.55 * r, 0.22 * r + 0.15});
  }
  const double background = 0.01 * total;
  for (auto& b : blobs) b.charge *= (total - background) / total;

  const size_t n_vox = voxel_count(m.grid);
  const double voxel_volume = cell_volume(m.lattice) / static_cast<double>(n_vox);
  std::vector<double> rho(n_vox, background / cell_volume(m.lattice));
  std::vector<std::pair<size_t, double>> scratch;
  for (const auto& b : blobs) add_blob(b, m.lattice, m.grid, voxel_volume, rho, scratch);
  m.density.assign(rho.begin(), rho.end());
  compute_electron_counts(m);
  return m;
}

void write_synthetic_store(const std::string& path, const SynthSpec& spec,
                           const std::function<void(size_t, size_t)>& progress) {
  const size_t total = spec.n_train + spec.n_val;
  if (spec.n_train == 0 || spec.n_val == 0) throw Error(path + ": synthetic store needs --n-train > 0 and --n-val > 0");
  PendingFile pending(path);
  StoreWriter writer(pending.temp_path(), StoreWriter::Mode::create);
  std::vector<std::string> train, val;

  // Generate in parallel in batches; write in index order (the HDF5 writer is single-threaded).
  const int threads = std::max(1, spec.threads);
  const size_t batch = 64;
  std::vector<Material> done(batch);
  for (size_t start = 0; start < total; start += batch) {
    const size_t count = std::min(batch, total - start);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        for (size_t i = static_cast<size_t>(t); i < count; i += static_cast<size_t>(threads))
          done[i] = synthetic_material(spec.seed, start + i);
      });
    for (auto& th : pool) th.join();
    for (size_t i = 0; i < count; ++i) {
      writer.write(done[i]);
      (start + i < spec.n_train ? train : val).push_back(done[i].id);
    }
    if (progress) progress(start + count, total);
  }
  writer.write_split("train", train);
  writer.write_split("val", val);
  writer.write_split("val_200", sample_ids(val, kFixedEvalSize, spec.seed));
  writer.close();
  pending.commit();
}

}  // namespace rhotrain
