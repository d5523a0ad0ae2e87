// Lattice planes through crystals (the densest low-index plane, the plane through three chosen atoms, a primitive
// right-handed cell on each) and the PNG figure drawn on them: panels, where the density lands, the shared colour
// scale, the sign of the difference, identical bytes for identical inputs, and errors that leave nothing behind.
#include <cairo.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "pictures/density_figure.h"
#include "pictures/slice_plane.h"
#include "tests/test_support.h"

namespace rhotrain {
namespace {

constexpr int kNa = 11, kSi = 14, kCl = 17;

MaterialMeta cubic(const std::string& id, double a, const std::vector<int>& numbers,
                   const std::vector<Eigen::Vector3d>& frac) {
  MaterialMeta m;
  m.id = id;
  m.lattice = a * Eigen::Matrix3d::Identity();
  m.numbers = numbers;
  m.frac_coords = frac;
  m.grid = {16, 16, 16};
  return m;
}

// Conventional rock-salt cell: Na 0–3 on the face-centred sites, Cl 4–7 between them.
MaterialMeta rock_salt() {
  return cubic("NaCl", 4, {kNa, kNa, kNa, kNa, kCl, kCl, kCl, kCl},
               {{0, 0, 0}, {0, .5, .5}, {.5, 0, .5}, {.5, .5, 0}, {.5, 0, 0}, {0, .5, 0}, {0, 0, .5}, {.5, .5, .5}});
}

bool same_up_to_sign(const Eigen::Vector3i& a, const Eigen::Vector3i& b) { return a == b || a == -b; }

// u, v span the plane's integer lattice (u × v = ±h, nothing finer), (u, v, G) is right-handed, and u, v are
// Gauss-reduced: u is as short as the plane allows and v as short as it can be next to it.
void expect_primitive_reduced_cell(const MaterialMeta& m, const SlicePlane& p) {
  EXPECT_EQ(p.miller.dot(p.u), 0);
  EXPECT_EQ(p.miller.dot(p.v), 0);
  EXPECT_TRUE(same_up_to_sign(p.u.cross(p.v), p.miller)) << p.u.transpose() << " x " << p.v.transpose();
  const Eigen::Vector3d u = m.lattice.transpose() * p.u.cast<double>(), v = m.lattice.transpose() * p.v.cast<double>();
  const Eigen::Vector3d g = m.lattice.inverse() * p.miller.cast<double>();
  EXPECT_GT(u.cross(v).dot(g), 0);
  EXPECT_LE(u.norm(), v.norm() + 1e-9);
  EXPECT_LE(std::fabs(u.dot(v)), u.squaredNorm() / 2 + 1e-9);
}

TEST(SlicePlane, RockSaltDensestPlaneIs001ThroughTheFirstAtom) {
  const MaterialMeta m = rock_salt();
  const SlicePlane p = plane_with_most_atoms(m);
  EXPECT_EQ(p.miller, Eigen::Vector3i(0, 0, 1));
  EXPECT_EQ(p.atoms, (std::vector<int>{0, 3, 4, 5}));
  EXPECT_EQ(p.origin, m.frac_coords[0]);
  EXPECT_EQ(p.u, Eigen::Vector3i(1, 0, 0));
  EXPECT_EQ(p.v, Eigen::Vector3i(0, 1, 0));
  EXPECT_EQ(describe_plane(m, p), "(0 0 1) through Na 0, 4 atoms");
}

TEST(SlicePlane, SingleAtomGivesThe001Plane) {
  const MaterialMeta m = cubic("Si", 3, {kSi}, {{0.1, 0.2, 0.3}});
  const SlicePlane p = plane_with_most_atoms(m);
  EXPECT_EQ(p.miller, Eigen::Vector3i(0, 0, 1));
  EXPECT_EQ(p.atoms, std::vector<int>{0});
  EXPECT_EQ(describe_plane(m, p), "(0 0 1) through Si 0, 1 atom");
}

TEST(SlicePlane, ThroughThreeAtomsFindsTheirPlane) {
  const MaterialMeta m = rock_salt();
  // Cl 4, Cl 5 and Na 1 lie on x + y = ½, which also holds Na 2.
  const SlicePlane p = plane_through_atoms(m, 4, 5, 1);
  EXPECT_TRUE(same_up_to_sign(p.miller, Eigen::Vector3i(1, 1, 0))) << p.miller.transpose();
  EXPECT_EQ(p.atoms, (std::vector<int>{1, 2, 4, 5}));
  EXPECT_EQ(p.origin, m.frac_coords[4]);
  expect_primitive_reduced_cell(m, p);
  EXPECT_NE(describe_plane(m, p).find("through Cl 4, 4 atoms"), std::string::npos) << describe_plane(m, p);

  // Na 0, Cl 6 and Na 3 lie on x = y: a negative index.
  const SlicePlane q = plane_through_atoms(m, 0, 6, 3);
  EXPECT_TRUE(same_up_to_sign(q.miller, Eigen::Vector3i(1, -1, 0))) << q.miller.transpose();
  EXPECT_EQ(q.atoms, (std::vector<int>{0, 3, 6, 7}));
  const std::string text = describe_plane(m, q);
  EXPECT_TRUE(text == "(1 -1 0) through Na 0, 4 atoms" || text == "(-1 1 0) through Na 0, 4 atoms") << text;
}

TEST(SlicePlane, HighIndexPlanesInATriclinicCellGetAPrimitiveCell) {
  MaterialMeta m;
  m.id = "triclinic";
  m.lattice << 4.1, 0, 0, 0.9, 3.7, 0, -0.6, 1.1, 5.3;
  // Atoms 0–2 on 3x + 2y + 5z = 1, atoms 3–5 on 7x + 5y + 3z = 1: each plane cuts the axes at 1/h, 1/k, 1/l.
  m.frac_coords = {{1 / 3.0, 0, 0}, {0, 0.5, 0}, {0, 0, 0.2}, {1 / 7.0, 0, 0}, {0, 0.2, 0}, {0, 0, 1 / 3.0}};
  m.numbers.assign(m.frac_coords.size(), kSi);
  m.grid = {8, 8, 8};
  const SlicePlane p = plane_through_atoms(m, 0, 1, 2);
  EXPECT_TRUE(same_up_to_sign(p.miller, Eigen::Vector3i(3, 2, 5))) << p.miller.transpose();
  expect_primitive_reduced_cell(m, p);
  for (int atom : {0, 1, 2}) EXPECT_NE(std::find(p.atoms.begin(), p.atoms.end(), atom), p.atoms.end()) << atom;

  const SlicePlane q = plane_through_atoms(m, 3, 4, 5);
  EXPECT_TRUE(same_up_to_sign(q.miller, Eigen::Vector3i(7, 5, 3))) << q.miller.transpose();
  expect_primitive_reduced_cell(m, q);

  expect_primitive_reduced_cell(m, plane_with_most_atoms(m));
}

TEST(SlicePlane, HexagonalBasalPlaneHasTheHexagonalCell) {
  MaterialMeta m;
  m.id = "hex";
  m.lattice << 3, 0, 0, -1.5, 1.5 * std::sqrt(3.0), 0, 0, 0, 5;
  m.numbers = {kSi};
  m.frac_coords = {{0, 0, 0}};
  m.grid = {8, 8, 12};
  const SlicePlane p = plane_with_most_atoms(m);
  EXPECT_EQ(p.miller, Eigen::Vector3i(0, 0, 1));
  expect_primitive_reduced_cell(m, p);
  const Eigen::Vector3d u = m.lattice.transpose() * p.u.cast<double>(), v = m.lattice.transpose() * p.v.cast<double>();
  EXPECT_NEAR(u.norm(), 3, 1e-9);
  EXPECT_NEAR(v.norm(), 3, 1e-9);

  // A second atom on the (1 1 0) planes makes them the densest.
  m.numbers.push_back(kSi);
  m.frac_coords.push_back({1 / 3.0, 2 / 3.0, 0.5});
  const SlicePlane q = plane_with_most_atoms(m);
  EXPECT_EQ(q.atoms.size(), 2u) << q.miller.transpose();
  expect_primitive_reduced_cell(m, q);
}

TEST(SlicePlane, AtomsThatFixNoLatticePlaneThrow) {
  const MaterialMeta m = rock_salt();
  EXPECT_NE(test::error_of([&] { plane_through_atoms(m, 0, 6, 0); }).find("collinear"), std::string::npos);
  MaterialMeta line = m;
  line.frac_coords[1] = {0.25, 0.25, 0.25};
  EXPECT_NE(test::error_of([&] { plane_through_atoms(line, 0, 1, 7); }).find("collinear"), std::string::npos);

  const std::string out_of_range = test::error_of([&] { plane_through_atoms(m, 0, 1, 8); });
  EXPECT_NE(out_of_range.find("atom 8"), std::string::npos) << out_of_range;
  EXPECT_NE(out_of_range.find("8 atoms"), std::string::npos) << out_of_range;
  EXPECT_NE(test::error_of([&] { plane_through_atoms(m, -1, 1, 2); }).find("atom -1"), std::string::npos);

  MaterialMeta skew = m;
  skew.frac_coords[1] = {0.123, 0.457, 0};
  skew.frac_coords[2] = {0, 0.31, 0.77};
  const std::string no_plane = test::error_of([&] { plane_through_atoms(skew, 0, 1, 2); });
  EXPECT_NE(no_plane.find("up to 12"), std::string::npos) << no_plane;

  MaterialMeta empty = m;
  empty.numbers.clear();
  empty.frac_coords.clear();
  EXPECT_NE(test::error_of([&] { plane_with_most_atoms(empty); }), "");
}

// --- figures ---

// A flat-topped blob: ρ = min(1, 3·exp(−r²/width)) around `centre` (nearest image) over a floor of 1e-6. Its top is
// exactly 1 wherever it sits, so two figures of moved blobs share their colour scale and colour bars.
std::vector<float> blob(const MaterialMeta& m, const Eigen::Vector3d& centre, double factor = 1, double width = 0.5) {
  std::vector<float> rho(voxel_count(m.grid));
  size_t n = 0;
  for (int i = 0; i < m.grid[0]; ++i)
    for (int j = 0; j < m.grid[1]; ++j)
      for (int k = 0; k < m.grid[2]; ++k) {
        const Eigen::Vector3d at(double(i) / m.grid[0], double(j) / m.grid[1], double(k) / m.grid[2]);
        Eigen::Vector3d d = at - centre;
        d -= d.array().round().matrix();
        const double r2 = (m.lattice.transpose() * d).squaredNorm();
        rho[n++] = static_cast<float>(factor * (std::min(1.0, 3 * std::exp(-r2 / width)) + 1e-6));
      }
  return rho;
}

struct Picture {
  int width = 0, height = 0;
  std::vector<uint32_t> rgb;  // row by row, 0xRRGGBB

  std::array<int, 3> at(int x, int y) const {
    const uint32_t c = rgb.at(static_cast<size_t>(y) * width + x);
    return {static_cast<int>(c >> 16 & 255), static_cast<int>(c >> 8 & 255), static_cast<int>(c & 255)};
  }
};

Picture read_png(const std::string& path) {
  cairo_surface_t* s = cairo_image_surface_create_from_png(path.c_str());
  Picture p;
  if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS) {
    p.width = cairo_image_surface_get_width(s);
    p.height = cairo_image_surface_get_height(s);
    const int stride = cairo_image_surface_get_stride(s);
    const unsigned char* data = cairo_image_surface_get_data(s);
    for (int y = 0; y < p.height; ++y)
      for (int x = 0; x < p.width; ++x)
        p.rgb.push_back(reinterpret_cast<const uint32_t*>(data + static_cast<size_t>(y) * stride)[x] & 0xffffff);
  }
  cairo_surface_destroy(s);
  return p;
}

// The runs [begin, end) of columns (or rows) in which two same-sized pictures differ: where their panels are.
std::vector<std::pair<int, int>> differing_runs(const Picture& a, const Picture& b, bool columns) {
  const int n = columns ? a.width : a.height, across = columns ? a.height : a.width;
  std::vector<std::pair<int, int>> runs;
  for (int i = 0; i < n; ++i) {
    bool differs = false;
    for (int j = 0; j < across && !differs; ++j)
      differs = columns ? a.at(i, j) != b.at(i, j) : a.at(j, i) != b.at(j, i);
    if (!differs) continue;
    if (!runs.empty() && runs.back().second == i) ++runs.back().second;
    else runs.emplace_back(i, i + 1);
  }
  return runs;
}

// Simple cubic Si (a = 4 Å), whose densest plane is (0 0 1) with the atom at the cell's corners, and its figures,
// each drawn once on first use: compressing the PNGs is most of the tests' time.
struct Figures {
  MaterialMeta m = cubic("Si-sc", 4, {kSi}, {{0, 0, 0}});
  SlicePlane plane = plane_with_most_atoms(m);
  std::vector<float> corner = blob(m, {0, 0, 0}), middle = blob(m, {0.5, 0.5, 0});
  test::TempDir dir;
  std::map<std::string, Picture> drawn;

  void write(const std::vector<float>& truth, const std::vector<float>& predicted, const std::string& path) const {
    write_density_figure(m, plane, {"Si, epoch 3", truth, predicted}, path);
  }

  const Picture& draw(const std::string& name, const std::vector<float>& truth, const std::vector<float>& predicted) {
    auto it = drawn.find(name);
    if (it == drawn.end()) {
      write(truth, predicted, dir.file(name));
      it = drawn.emplace(name, read_png(dir.file(name))).first;
      EXPECT_GT(it->second.width, 0) << name;
    }
    return it->second;
  }
  const Picture& truth_corner() { return draw("truth_corner.png", corner, {}); }
  const Picture& truth_middle() { return draw("truth_middle.png", middle, {}); }
  const Picture& predicted_corner() { return draw("predicted_corner.png", {}, corner); }
  const Picture& corner_middle() { return draw("corner_middle.png", corner, middle); }
  const Picture& corner_corner() { return draw("corner_corner.png", corner, corner); }
  const Picture& middle_middle() { return draw("middle_middle.png", middle, middle); }
  const Picture& too_small() { return draw("too_small.png", middle, blob(m, {0.5, 0.5, 0}, 0.01)); }
  // Narrow, at x = 1.5 Å, y = 0.5 Å on the plane: where a mirrored or transposed picture would put it, it is dark.
  const Picture& off_axes() { return draw("off_axes.png", blob(m, {0.375, 0.125, 0}, 1, 0.1), {}); }
};

Figures& figures() {
  static Figures f;
  return f;
}

TEST(DensityFigure, OnePanelPerGivenDensityAndThreeWithTheDifference) {
  Figures& f = figures();
  EXPECT_EQ(f.truth_corner().width, f.predicted_corner().width);
  EXPECT_GT(f.corner_middle().width, 2 * f.truth_corner().width);
  EXPECT_EQ(f.truth_corner().height, f.corner_middle().height);
}

TEST(DensityFigure, SameInputsGiveIdenticalBytesAndMissingFoldersAreMade) {
  Figures& f = figures();
  test::TempDir dir;
  const std::string again = dir.file("nested/folders/corner_middle.png");
  f.write(f.corner, f.middle, again);
  EXPECT_EQ(read_png(again).rgb, f.corner_middle().rgb);
  EXPECT_EQ(test::read_file(again), test::read_file(f.dir.file("corner_middle.png")));
}

TEST(DensityFigure, DensityIsDrawnWhereItSitsOnThePlane) {
  Figures& f = figures();
  const Picture &at_corner = f.truth_corner(), &at_middle = f.truth_middle();
  const auto columns = differing_runs(at_corner, at_middle, true), rows = differing_runs(at_corner, at_middle, false);
  ASSERT_EQ(columns.size(), 1u);
  ASSERT_EQ(rows.size(), 1u);
  const auto [x0, x1] = columns[0];
  const auto [y0, y1] = rows[0];
  EXPECT_GT(x1 - x0, 250);
  EXPECT_NEAR(x1 - x0, y1 - y0, 2);  // a square cell gives a square picture

  // The blob at (½, ½, 0) is bright in the middle of the picture; the one at the origin near its lower-left corner.
  const int cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  const int lx = x0 + (x1 - x0) * 15 / 100, ly = y1 - (y1 - y0) * 15 / 100;
  EXPECT_GT(at_middle.at(cx, cy)[1], 200);
  EXPECT_LT(at_corner.at(cx, cy)[1], 100);
  EXPECT_GT(at_corner.at(lx, ly)[1], 200);
  EXPECT_LT(at_middle.at(lx, ly)[1], 100);

  // The panel shows the 4 Å cell with a margin of 5 % on each side, x to the right and y up.
  const Picture& off = f.off_axes();
  const auto pixel_at = [&](double x, double y) {
    const int i = static_cast<int>((x + 0.2) / 4.4 * (x1 - x0)), j = static_cast<int>((y + 0.2) / 4.4 * (y1 - y0));
    return off.at(x0 + i, y1 - 1 - j);
  };
  EXPECT_GT(pixel_at(1.5, 0.5)[1], 200);
  EXPECT_LT(pixel_at(0.5, 1.5)[1], 100);  // transposed
  EXPECT_LT(pixel_at(1.5, 3.5)[1], 100);  // upside down
  EXPECT_LT(pixel_at(2.5, 0.5)[1], 100);  // mirrored left to right
}

TEST(DensityFigure, DifferenceIsSignedAndDensitiesShareOneScale) {
  // Identical truth and prediction: the DFT and predicted panels change with the blob, the difference stays white.
  Figures& f = figures();
  const auto columns = differing_runs(f.corner_corner(), f.middle_middle(), true);
  const auto rows = differing_runs(f.corner_corner(), f.middle_middle(), false);
  ASSERT_EQ(columns.size(), 2u);
  ASSERT_EQ(rows.size(), 1u);
  const int pitch = columns[1].first - columns[0].first;
  EXPECT_EQ(columns[1].second - columns[1].first, columns[0].second - columns[0].first);
  const auto [y0, y1] = rows[0];
  const int cy = (y0 + y1) / 2, ly = y1 - (y1 - y0) * 15 / 100;
  const auto centre_x = [&](int panel) { return (columns[0].first + columns[0].second) / 2 + panel * pitch; };
  const auto left_x = [&](int panel) {
    return columns[0].first + (columns[0].second - columns[0].first) * 15 / 100 + panel * pitch;
  };
  EXPECT_EQ(f.middle_middle().at(centre_x(2), cy), (std::array<int, 3>{255, 255, 255}));

  // Predicting the blob in the middle instead of at the corner: too high (red) in the middle, too low (blue) there.
  const auto red = f.corner_middle().at(centre_x(2), cy), blue = f.corner_middle().at(left_x(2), ly);
  EXPECT_GT(red[0], red[2] + 80);
  EXPECT_GT(blue[2], blue[0] + 80);

  // A prediction a hundred times too small is two decades darker on the shared scale, not equally bright.
  EXPECT_GT(f.too_small().at(centre_x(0), cy)[1], 200);
  EXPECT_LT(f.too_small().at(centre_x(1), cy)[1], 170);
}

TEST(DensityFigure, WrongOrMissingGridsThrow) {
  Figures& f = figures();
  test::TempDir dir;
  const std::string path = dir.file("bad.png");
  const std::string wrong = test::error_of([&] { f.write(std::vector<float>(100, 1), {}, path); });
  EXPECT_NE(wrong.find("100"), std::string::npos) << wrong;
  EXPECT_NE(wrong.find("16x16x16"), std::string::npos) << wrong;
  EXPECT_NE(wrong.find(path), std::string::npos) << wrong;
  EXPECT_NE(test::error_of([&] { f.write(f.corner, std::vector<float>(7), path); }), "");
  EXPECT_NE(test::error_of([&] { f.write({}, {}, path); }).find(path), std::string::npos);
  EXPECT_TRUE(dir.entries().empty());
}

TEST(DensityFigure, UnwritablePathsThrowNamingThePathAndLeaveNothing) {
  Figures& f = figures();
  for (const std::string path : {"/proc/rhotrain-figure.png", "/proc/rhotrain-no-folder/figure.png"}) {
    const std::string e = test::error_of([&] { f.write(f.corner, {}, path); });
    EXPECT_NE(e.find(path + ": cannot write PNG"), std::string::npos) << e;
  }
  // A folder where the PNG should go: the temporary file is written, cannot be renamed, and is removed.
  test::TempDir dir;
  std::filesystem::create_directories(dir.file("taken.png/inside"));
  const std::string e = test::error_of([&] { f.write(f.corner, {}, dir.file("taken.png")); });
  EXPECT_NE(e.find(dir.file("taken.png")), std::string::npos) << e;
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"taken.png"});
}

}  // namespace
}  // namespace rhotrain
