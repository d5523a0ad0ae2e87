// The built-in default dataset must look like the real problem and be exactly reproducible.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "common/quantiles.h"
#include "materials/store.h"
#include "materials/synthetic.h"
#include "tests/test_support.h"

namespace rhotrain {
namespace {

TEST(Synthetic, SameSeedAndIndexGiveTheSameMaterial) {
  const Material a = synthetic_material(5, 17), b = synthetic_material(5, 17), c = synthetic_material(6, 17);
  EXPECT_EQ(a.density, b.density);
  EXPECT_EQ(a.numbers, b.numbers);
  EXPECT_EQ(a.lattice, b.lattice);
  EXPECT_NE(a.density, c.density);
}

TEST(Synthetic, PopulationLooksLikeMaterialsProject) {
  std::vector<double> atoms, ne;
  for (size_t i = 0; i < 400; ++i) {
    const Material m = synthetic_material(0, i);
    SCOPED_TRACE(m.id);
    atoms.push_back(static_cast<double>(m.n_atoms()));
    ne.push_back(m.n_electrons);
    ASSERT_GE(m.n_atoms(), 1u);
    ASSERT_LE(m.n_atoms(), 40u);
    for (int d = 0; d < 3; ++d) {
      const double length = m.lattice.row(d).norm();
      ASSERT_GE(length, 3.0 - 1e-9);
      ASSERT_LE(length, 14.0 + 1e-9);
      ASSERT_GE(m.grid[d], 12);
      ASSERT_LE(m.grid[d], 56);
      const double spacing = length / m.grid[d];
      if (m.grid[d] > 12 && m.grid[d] < 56) {
        ASSERT_GT(spacing, 0.24);
        ASSERT_LT(spacing, 0.36);
      }
    }
    // ∫ρ dV is the valence count; ΣZ is stored beside it.
    double valence = 0;
    for (int z : m.numbers) valence += synthetic_valence(z);
    ASSERT_NEAR(m.n_electrons_grid, valence, 0.005 * valence);
    ASSERT_DOUBLE_EQ(m.n_electrons, sum_z(m.numbers));
    ASSERT_GT(*std::min_element(m.density.begin(), m.density.end()), 0.0f);
  }
  const double median_atoms = quantile(atoms, 0.5);
  EXPECT_GE(median_atoms, 7);
  EXPECT_LE(median_atoms, 13);
  EXPECT_GE(quantile(atoms, 1.0), 30);  // a long tail
  EXPECT_GE(quantile(ne, 1.0) / quantile(ne, 0.0), 100);
  EXPECT_GE(quantile(ne, 1.0), 1000);
}

TEST(Synthetic, DensityPeaksAtTheAtoms) {
  // The voxel nearest each atom is denser than the cell average: the density is atom-centred.
  int above = 0, total = 0;
  for (size_t i = 0; i < 50; ++i) {
    const Material m = synthetic_material(1, i);
    const double mean = m.n_electrons_grid / cell_volume(m.lattice);
    for (const auto& f : m.frac_coords) {
      size_t idx = 0;
      for (int d = 0; d < 3; ++d) {
        const int n = m.grid[d];
        idx = idx * n + static_cast<size_t>(((static_cast<int>(std::lround(f[d] * n)) % n) + n) % n);
      }
      above += m.density[idx] > mean;
      ++total;
    }
  }
  EXPECT_GT(above, total * 95 / 100);
}

TEST(Synthetic, StoreHasSplitsAndTheFixedValSample) {
  test::TempDir dir;
  SynthSpec spec;
  spec.n_train = 30;
  spec.n_val = 12;
  spec.seed = 3;
  write_synthetic_store(dir.file("s.h5"), spec);
  MaterialStore store({dir.file("s.h5")});
  EXPECT_EQ(store.split("train").size(), 30u);
  EXPECT_EQ(store.split("val").size(), 12u);
  EXPECT_EQ(store.split("val_200"), store.split("val"));
  EXPECT_EQ(store.read("synth-000031").density, synthetic_material(3, 31).density);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"s.h5"});
}

}  // namespace
}  // namespace rhotrain
