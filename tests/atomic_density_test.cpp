// The atomic-density baseline: its periodic sums against a brute-force real-space sum over images, the fit's
// recovery of known profiles, its determinism across threads, and its file.
#include <gtest/gtest.h>

#include <cmath>

#include "materials/atomic_density.h"
#include "materials/store.h"
#include "tests/test_support.h"

namespace rhotrain {
namespace {

// A skewed two-element cell small enough that the 2 Å Gaussian reaches across many images.
MaterialMeta skewed_cell(const Grid& grid) {
  MaterialMeta m;
  m.id = "skewed";
  m.lattice << 3.1, 0.0, 0.0, 0.9, 2.8, 0.0, -0.4, 0.7, 3.3;
  m.numbers = {8, 22, 8};
  m.frac_coords = {{0.05, 0.1, 0.93}, {0.5, 0.45, 0.52}, {0.999, 0.75, 0.2}};
  m.grid = grid;
  return m;
}

// Σ over every image within 12σ of each voxel, the slow and obvious way.
double brute_force(const MaterialMeta& m, const AtomicDensity& atoms, size_t voxel) {
  const int n0 = m.grid[0], n1 = m.grid[1], n2 = m.grid[2];
  const int i = static_cast<int>(voxel / static_cast<size_t>(n1 * n2)), j = static_cast<int>(voxel / static_cast<size_t>(n2) % static_cast<size_t>(n1)),
            k = static_cast<int>(voxel % static_cast<size_t>(n2));
  const Eigen::RowVector3d r = Eigen::RowVector3d(double(i) / n0, double(j) / n1, double(k) / n2) * m.lattice;
  const double cutoff = 12 * atoms.widths().back();
  const int images = 1 + static_cast<int>(cutoff / 2.0);  // every cell vector here is longer than 2 Å once projected
  double sum = 0;
  for (size_t a = 0; a < m.n_atoms(); ++a)
    for (int t0 = -images; t0 <= images; ++t0)
      for (int t1 = -images; t1 <= images; ++t1)
        for (int t2 = -images; t2 <= images; ++t2) {
          const Eigen::RowVector3d f(m.frac_coords[a][0] + t0, m.frac_coords[a][1] + t1, m.frac_coords[a][2] + t2);
          const double d = (r - f * m.lattice).norm();
          if (d < cutoff) sum += atoms.profile(m.numbers[a], d);
        }
  return sum;
}

TEST(AtomicDensity, PeriodicSumEqualsBruteForceOverImages) {
  // Narrow, middle and wide widths: the narrow ones are summed in real space, the wide ones in reciprocal space.
  const AtomicDensity atoms({0.1, 0.35, 0.8, 2.0}, {{8, {3.0, -0.5, 0.2, 0.01}}, {22, {9.0, 1.5, -0.3, 0.02}}});
  for (const Grid grid : {Grid{10, 9, 11}, Grid{23, 19, 29}}) {
    const MaterialMeta m = skewed_cell(grid);
    const std::vector<float> fast = atoms.grid(m);
    ASSERT_EQ(fast.size(), voxel_count(grid));
    double worst = 0;
    for (size_t v = 0; v < fast.size(); v += 7) worst = std::max(worst, std::abs(fast[v] - brute_force(m, atoms, v)));
    EXPECT_LT(worst, 2e-5) << grid[0];  // float output; the sums agree to ~1e-12 before rounding
  }
}

TEST(AtomicDensity, ElectronsAreTheIntegralOfEachProfile) {
  const AtomicDensity atoms({0.3, 0.9}, {{14, {1.0, 0.1}}});
  const double expected = std::pow(2 * M_PI * 0.09, 1.5) + 0.1 * std::pow(2 * M_PI * 0.81, 1.5);
  EXPECT_NEAR(atoms.electrons(14), expected, 1e-12);
  // On a fine grid the voxel sum of ρ_atoms is that integral times the atoms.
  MaterialMeta m;
  m.id = "si2";
  m.lattice = Eigen::Matrix3d::Identity() * 5.0;
  m.numbers = {14, 14};
  m.frac_coords = {{0, 0, 0}, {0.25, 0.25, 0.25}};
  m.grid = {40, 40, 40};
  const std::vector<float> rho = atoms.grid(m);
  double sum = 0;
  for (float v : rho) sum += v;
  EXPECT_NEAR(sum * 125.0 / voxel_count(m.grid), 2 * expected, 1e-4);
}

TEST(AtomicDensity, UnseenElementIsRefusedByName) {
  const AtomicDensity atoms({0.5}, {{8, {1.0}}});
  MaterialMeta m = skewed_cell({6, 6, 6});
  EXPECT_EQ(atoms.unseen_elements(m.numbers), "Ti");
  EXPECT_NE(test::error_of([&] { atoms.grid(m); }).find("Ti not in the atomic-density fit"), std::string::npos);
}

// A store whose densities are exactly a known superposition: the fit must find it again.
std::string known_superposition_store(const test::TempDir& dir, const AtomicDensity& truth) {
  const std::string path = dir.file("known.h5");
  StoreWriter w(path, StoreWriter::Mode::create);
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    Material m;
    static_cast<MaterialMeta&>(m) = skewed_cell({12 + i, 14, 13});
    m.id = "m" + std::to_string(i);
    m.numbers = {i % 2 ? 8 : 22, 8, i % 3 ? 22 : 8};
    m.frac_coords[1][0] = 0.1 * i;
    m.density = truth.grid(m);
    compute_electron_counts(m);
    w.write(m);
    ids.push_back(m.id);
  }
  w.write_split("train", ids);
  w.close();
  return path;
}

TEST(AtomicDensity, FitRecoversAKnownSuperpositionAndIsDeterministic) {
  test::TempDir dir;
  const AtomicDensity truth({0.15, 0.4, 1.0}, {{8, {4.0, 0.6, 0.02}}, {22, {12.0, 2.0, 0.05}}});
  const MaterialStore store({known_superposition_store(dir, truth)}, 0);
  AtomicFitOptions options;
  options.widths = truth.widths();
  options.threads = 1;
  const AtomicDensity one = fit_atomic_density(store, "train", options);
  options.threads = 2;
  const AtomicDensity two = fit_atomic_density(store, "train", options);
  EXPECT_EQ(one.fingerprint(), two.fingerprint());
  EXPECT_EQ(one.fit_materials, 6u);
  for (const auto& [z, c] : truth.coefficients()) {
    EXPECT_NEAR(one.electrons(z), truth.electrons(z), 1e-3 * truth.electrons(z)) << z;
    for (size_t k = 0; k < c.size(); ++k) EXPECT_NEAR(one.coefficients().at(z)[k], c[k], 1e-3 * std::abs(c[0])) << z << " " << k;
  }
}

TEST(AtomicDensity, SaveLoadRoundTripsAndRefusesOtherFiles) {
  test::TempDir dir;
  AtomicDensity atoms(AtomicDensity::default_widths(), {{1, std::vector<double>(16, 0.5)}, {79, std::vector<double>(16, -0.25)}});
  atoms.fit_split = "train";
  atoms.fit_materials = 3;
  atoms.fit_voxels = 1234;
  atoms.ridge = 1e-9;
  atoms.save(dir.file("atoms.h5"));
  const AtomicDensity back = AtomicDensity::load(dir.file("atoms.h5"));
  EXPECT_EQ(back.fingerprint(), atoms.fingerprint());
  EXPECT_EQ(back.fit_split, "train");
  EXPECT_EQ(back.fit_voxels, 1234u);
  test::write_file(dir.file("text.h5"), "not hdf5");
  EXPECT_NE(test::error_of([&] { AtomicDensity::load(dir.file("text.h5")); }).find("not an HDF5 file"), std::string::npos);
  EXPECT_NE(test::error_of([&] { AtomicDensity::load(dir.file("missing.h5")); }).find("no such file"), std::string::npos);
}

}  // namespace
}  // namespace rhotrain
