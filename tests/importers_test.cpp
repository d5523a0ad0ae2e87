// Import of real DFT densities written by third-party tools (data/fixtures) and export round trips.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "materials/chgcar.h"
#include "materials/cube.h"
#include "materials/store.h"
#include "materials/store_import.h"
#include "materials/valence_table.h"
#include "common/elements.h"
#include "common/error.h"
#include "common/files.h"
#include "tests/test_support.h"

namespace rhotrain {
namespace {

using test::fixture;

nlohmann::json manifest() { return nlohmann::json::parse(test::read_file(fixture("manifest.json"))); }

Material import_fixture(const nlohmann::json& entry) {
  const std::string path = fixture(entry["file"]);
  if (entry["format"] == "cube") return read_cube(path);
  std::vector<std::string> species;
  if (std::string(entry["notes"]).find("--species") != std::string::npos)
    for (int z : entry["atomic_numbers"]) species.push_back(element_symbol(z));
  return read_chgcar(path, species);
}

double wrapped_difference(double a, double b) {
  double d = a - b;
  return std::fabs(d - std::round(d));
}

TEST(Importers, EveryFixtureMatchesItsManifest) {
  const auto entries = manifest();
  ASSERT_GE(entries.size(), 7u);
  for (const auto& e : entries) {
    SCOPED_TRACE(std::string(e["file"]));
    const Material m = import_fixture(e);
    // Cube files print lengths in Bohr with ~6 decimals; CHGCARs print Å exactly as the manifest has them.
    const bool cube = e["format"] == "cube";
    const double length_tol = cube ? 2e-5 : 1e-9;
    const double coord_tol = cube ? 2e-5 : 1e-6;

    for (int d = 0; d < 3; ++d) EXPECT_EQ(m.grid[d], e["grid"][d].get<int>());
    ASSERT_EQ(m.numbers, e["atomic_numbers"].get<std::vector<int>>());
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) EXPECT_NEAR(m.lattice(r, c), e["lattice"][r][c].get<double>(), length_tol);
    for (size_t a = 0; a < m.n_atoms(); ++a)
      for (int d = 0; d < 3; ++d)
        EXPECT_LT(wrapped_difference(m.frac_coords[a][d], e["frac_coords"][a][d].get<double>()), coord_tol);

    const double valence = e["n_electrons_valence"];
    EXPECT_NEAR(m.n_electrons_grid, valence, 1e-3 * valence);  // ∫ρ dV within 0.1 %
    EXPECT_DOUBLE_EQ(m.n_electrons, e["n_electrons_total"].get<double>());
    float max = 0;
    for (float v : m.density) max = std::max(max, v);
    EXPECT_NEAR(max, e["density_max"].get<double>(), 1e-4 * e["density_max"].get<double>());
  }
}

TEST(Importers, SpinPolarisedChgcarKeepsTheTotalDensityOnly) {
  // MgO: the magnetisation block follows the total density; reading it as density would change ∫ρ dV.
  const Material m = read_chgcar(fixture("MgO_rs.spin_aug.pymatgen.CHGCAR"));
  EXPECT_NEAR(m.n_electrons_grid, 16.0, 0.016);
  EXPECT_NEAR(m.density[0] * cell_volume(m.lattice), 854.93648456, 1e-3);
}

TEST(Importers, ChgcarIsTransposedFromXFastest) {
  // The second value in a CHGCAR is voxel (1,0,0): in C order that is index ny*nz.
  const Material m = read_chgcar(fixture("Si_diamond.ase.CHGCAR"));
  const double v = cell_volume(m.lattice);
  EXPECT_NEAR(m.density[0] * v, 40.284421918, 1e-5);
  EXPECT_NEAR(m.density[36 * 36] * v, 35.303596104, 1e-5);
}

TEST(Importers, Vasp4WithoutSpeciesNeedsThem) {
  try {
    read_chgcar(fixture("Cu_fcc.vasp4.CHGCAR"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--species"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Cu_fcc.vasp4.CHGCAR"), std::string::npos) << e.what();
  }
  EXPECT_EQ(read_chgcar(fixture("Cu_fcc.vasp4.CHGCAR"), {"Cu"}).numbers, std::vector<int>{29});
}

void expect_same_material(const Material& a, const Material& b, double length_tol) {
  ASSERT_EQ(a.grid, b.grid);
  ASSERT_EQ(a.numbers, b.numbers);
  EXPECT_LT((a.lattice - b.lattice).cwiseAbs().maxCoeff(), length_tol);
  for (size_t i = 0; i < a.n_atoms(); ++i)
    for (int d = 0; d < 3; ++d) EXPECT_LT(wrapped_difference(a.frac_coords[i][d], b.frac_coords[i][d]), 1e-9);
  ASSERT_EQ(a.density.size(), b.density.size());
  for (size_t i = 0; i < a.density.size(); ++i)
    ASSERT_NEAR(a.density[i], b.density[i], 2e-7 * std::fabs(a.density[i])) << "voxel " << i;
}

TEST(Importers, ExportThenImportGivesTheSameMaterial) {
  test::TempDir dir;
  for (const auto& e : manifest()) {
    SCOPED_TRACE(std::string(e["file"]));
    Material m = import_fixture(e);
    m.id = e["material"];
    write_text_file_atomic(dir.file("x.CHGCAR"), format_chgcar(m));
    expect_same_material(m, read_chgcar(dir.file("x.CHGCAR")), 1e-12);
    write_text_file_atomic(dir.file("x.cube.gz"), format_cube(m));
    expect_same_material(m, read_cube(dir.file("x.cube.gz")), 1e-8);
  }
}

TEST(Importers, MixedSpeciesOrderSurvivesChgcarRoundTrip) {
  test::TempDir dir;
  Material m = test::toy_material("mixed", {5, 6, 7});
  m.numbers = {14, 8, 14};  // species repeat: written as "Si O Si" / "1 1 1"
  write_text_file_atomic(dir.file("m.CHGCAR"), format_chgcar(m));
  EXPECT_EQ(read_chgcar(dir.file("m.CHGCAR")).numbers, m.numbers);
}

TEST(Structures, PoscarsAreReadWithSelectiveDynamicsCartesianCoordinatesAndAVolumeScale) {
  test::TempDir dir;
  // Si in a 5.43 Å cube given by its volume (−160.1 Å³), Cartesian positions scaled with the lattice, selective
  // dynamics flags and velocities after the positions: all of which VASP accepts.
  const double a = std::cbrt(160.103007);
  test::write_file(dir.file("POSCAR"),
                   "Si\n-160.103007\n1 0 0\n0 1 0\n0 0 1\nSi\n2\nSelective dynamics\nCartesian\n"
                   "0 0 0 T T T\n0.25 0.25 0.25 F F F\n\n0.01 0 0\n0 0 0\n");
  const Material m = read_vasp_structure(dir.file("POSCAR"));
  EXPECT_NEAR(m.lattice(0, 0), a, 1e-9);
  ASSERT_EQ(m.numbers, (std::vector<int>{14, 14}));
  EXPECT_NEAR(m.frac_coords[1].x(), 0.25, 1e-12);  // Cartesian 0.25 · scale / a
  EXPECT_EQ(voxel_count(m.grid), 0u);
  EXPECT_TRUE(m.density.empty());
  // The structure of a CHGCAR comes with its grid and density.
  const Material full = read_vasp_structure(fixture("Si_diamond.ase.CHGCAR"));
  EXPECT_EQ(full.density, read_chgcar(fixture("Si_diamond.ase.CHGCAR")).density);
  EXPECT_NE(test::error_of([&] { read_vasp_structure(dir.file("missing")); }).find("missing"), std::string::npos);
}

TEST(Structures, GridsForASpacingAreRoundedUpToFftFriendlySizes) {
  EXPECT_EQ(fft_friendly_size(1), 1);
  EXPECT_EQ(fft_friendly_size(7), 8);
  EXPECT_EQ(fft_friendly_size(11), 12);
  EXPECT_EQ(fft_friendly_size(13), 15);
  EXPECT_EQ(fft_friendly_size(49), 50);
  EXPECT_EQ(fft_friendly_size(55), 60);
  EXPECT_EQ(fft_friendly_size(97), 100);
  Eigen::Matrix3d lattice;
  lattice << 5.43, 0, 0, 0, 5.43, 0, 1.0, 0, 10.0;  // |c| = 10.05
  EXPECT_EQ(grid_for_spacing(lattice, 0.1), (Grid{60, 60, 108}));  // 54.3 → 55 → 60; 100.5 → 101 → 108
  EXPECT_EQ(grid_for_spacing(lattice, 0.543), (Grid{10, 10, 20}));  // exactly 10 stays 10; 18.5 → 19 → 20
  EXPECT_NE(test::error_of([&] { grid_for_spacing(lattice, 0); }).find("spacing"), std::string::npos);
}

TEST(Structures, ElectronsPerElementAreFittedFromWhatTheDensitiesIntegrateTo) {
  // Valence densities: Si holds 4, O 6, Mg 2, whatever Z says.
  auto meta = [](std::vector<int> numbers, double integral) {
    MaterialMeta m;
    m.numbers = std::move(numbers);
    m.n_electrons_grid = integral;
    return m;
  };
  const std::vector<MaterialMeta> set = {meta({14, 14}, 8.0004), meta({14, 8, 8}, 15.999), meta({12, 8}, 8.0002),
                                         meta({12, 12, 8, 8}, 16.0)};
  std::vector<const MaterialMeta*> ptrs;
  for (const auto& m : set) ptrs.push_back(&m);
  const ValenceTable table = fit_valence_table(ptrs);
  EXPECT_EQ(table.electrons.at(14), 4.0);
  EXPECT_EQ(table.electrons.at(8), 6.0);
  EXPECT_EQ(table.electrons.at(12), 2.0);
  EXPECT_LT(table.max_residual, 1e-3);
  EXPECT_EQ(table.expected({14, 8}), 10.0);
  EXPECT_FALSE(table.expected({14, 79}).has_value());  // gold was never seen
}

TEST(Structures, UnusualButValidFilesAreKeptWithANoteSayingWhatWasDone) {
  test::TempDir dir;
  Material m = test::toy_material("odd", {6, 5, 4});
  m.frac_coords[0] = {1.25, -0.5, 0.3};  // the same site as (0.25, 0.5, 0.3)
  m.density[3] = -0.002f;                // DFT noise below zero
  test::write_file(dir.file("odd.CHGCAR"), format_chgcar(m));
  const ImportReport r = import_density_files({dir.file("odd.CHGCAR")}, dir.file("s.h5"), {});
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("1 atom(s) outside [0, 1) wrapped into the cell"), std::string::npos) << r.notes[0];
  EXPECT_NE(r.notes[0].find("1 of 120 voxels are negative (down to -0.002"), std::string::npos) << r.notes[0];
  const Material stored = MaterialStore({dir.file("s.h5")}, 0).read("odd");
  EXPECT_NEAR(stored.frac_coords[0].x(), 0.25, 1e-12);
  EXPECT_NEAR(stored.frac_coords[0].y(), 0.5, 1e-12);
  EXPECT_EQ(stored.density[3], -0.002f);
}

TEST(Structures, ImpossibleFilesAreRefusedWithTheReason) {
  test::TempDir dir;
  const auto refusal = [&](Material m, const std::string& name) {
    test::write_file(dir.file(name), format_chgcar(m));
    return test::error_of([&] { read_chgcar(dir.file(name)); });
  };
  Material nan = test::toy_material("nan", {4, 4, 4});
  nan.density[5] = std::nanf("");
  EXPECT_NE(refusal(nan, "nan.CHGCAR").find("density value nan at voxel 5 is not finite"), std::string::npos);
  Material twice = test::toy_material("twice", {4, 4, 4});
  twice.frac_coords[2] = twice.frac_coords[1] + Eigen::Vector3d(1.0, 0.0, 0.001);  // an image of atom 1, 6 mÅ away
  EXPECT_NE(refusal(twice, "twice.CHGCAR").find("atoms 1 and 2 sit"), std::string::npos);
  Material flat = test::toy_material("flat", {4, 4, 4});
  flat.lattice.row(2) = flat.lattice.row(0) + flat.lattice.row(1);
  EXPECT_NE(refusal(flat, "flat.CHGCAR").find("cell volume is zero or negative"), std::string::npos);
  // Headers that claim more than the file holds are refused before anything is allocated for them.
  const std::string header = "x\n1.0\n4 0 0\n0 4 0\n0 0 4\nSi\n1\nDirect\n0 0 0\n\n";
  test::write_file(dir.file("huge.CHGCAR"), header + "1000000 1000000 1000000\n1 2 3 4 5\n");
  EXPECT_NE(test::error_of([&] { read_chgcar(dir.file("huge.CHGCAR")); }).find("does not fit"), std::string::npos);
  test::write_file(dir.file("many.CHGCAR"), "x\n1.0\n4 0 0\n0 4 0\n0 0 4\nSi\n99999999999\nDirect\n0 0 0\n");
  EXPECT_NE(test::error_of([&] { read_chgcar(dir.file("many.CHGCAR")); }).find("more than the rest of the file"), std::string::npos);
  test::write_file(dir.file("huge.cube"), "c\nc\n1 0 0 0\n1000000 0.1 0 0\n1000000 0 0.1 0\n1000000 0 0 0.1\n14 0 0 0 0\n1 2\n");
  EXPECT_NE(test::error_of([&] { read_cube(dir.file("huge.cube")); }).find("does not fit"), std::string::npos);
  test::write_file(dir.file("atoms.cube"), "c\nc\n1e15 0 0 0\n4 0.1 0 0\n4 0 0.1 0\n4 0 0 0.1\n");
  EXPECT_NE(test::error_of([&] { read_cube(dir.file("atoms.cube")); }).find("atom count"), std::string::npos);
  test::write_file(dir.file("none.cube"), "c\nc\n0 0 0 0\n4 0.1 0 0\n4 0 0.1 0\n4 0 0 0.1\n");
  EXPECT_NE(test::error_of([&] { read_cube(dir.file("none.cube")); }).find("no atoms"), std::string::npos);
}

}  // namespace
}  // namespace rhotrain
