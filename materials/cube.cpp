#include "materials/cube.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "common/elements.h"
#include "common/error.h"
#include "common/files.h"

namespace rhotrain {

Material read_cube(const std::string& path) {
  TextCursor in(read_text_file(path), path);
  Material m;
  m.source = path;
  in.line("first comment line");
  in.line("second comment line");

  auto head = in.numbers_in(in.line("atom count and origin"), 4, "the atom count and origin");
  const bool has_orbital_line = head[0] < 0;  // Gaussian: negative count means an MO index line follows the atoms
  // Each atom line takes at least ten bytes: a larger count is a corrupt header, refused before the loop.
  if (head[0] != std::floor(head[0]) || std::fabs(head[0]) > static_cast<double>(in.remaining()) / 10)
    in.fail("atom count " + std::to_string(head[0]) + " is not a count the rest of the file can hold");
  const int n_atoms = static_cast<int>(std::fabs(head[0]));
  if (n_atoms == 0) in.fail("no atoms");
  const Eigen::Vector3d origin_bohr(head[1], head[2], head[3]);

  for (int r = 0; r < 3; ++r) {
    auto v = in.numbers_in(in.line("grid axis"), 4, "a grid axis");
    if (v[0] == 0 || v[0] != std::floor(v[0]) || std::fabs(v[0]) > 1e7) in.fail("grid dimension must be a non-zero integer");
    // A negative count means the axis vector is already in Å (Gaussian convention).
    const double unit = v[0] < 0 ? 1.0 : kBohrInAngstrom;
    m.grid[r] = static_cast<int>(std::fabs(v[0]));
    m.lattice.row(r) << v[1] * m.grid[r] * unit, v[2] * m.grid[r] * unit, v[3] * m.grid[r] * unit;
  }
  if (!(cell_volume(m.lattice) > 1e-9)) in.fail("cell volume is zero or negative");

  const Eigen::Matrix3d inv = m.lattice.inverse();
  for (int a = 0; a < n_atoms; ++a) {
    auto v = in.numbers_in(in.line("atom line"), 5, "an atom line");
    const int z = v[0] >= 1 && v[0] <= kMaxZ ? static_cast<int>(v[0]) : 0;
    if (z < 1 || v[0] != z) in.fail("atomic number " + std::to_string(v[0]) + " is outside 1..118");
    m.numbers.push_back(z);
    const Eigen::Vector3d cart = (Eigen::Vector3d(v[2], v[3], v[4]) - origin_bohr) * kBohrInAngstrom;
    Eigen::Vector3d f = (cart.transpose() * inv).transpose();
    // pp.x may list an atom at a periodic image of its cell position.
    for (int d = 0; d < 3; ++d) {
      f[d] -= std::floor(f[d]);
      if (f[d] >= 1.0) f[d] = 0.0;
    }
    m.frac_coords.push_back(f);
  }
  if (has_orbital_line) in.line("orbital index line");

  const double per_bohr3_to_per_a3 = 1.0 / (kBohrInAngstrom * kBohrInAngstrom * kBohrInAngstrom);
  in.check_grid_fits(m.grid[0], m.grid[1], m.grid[2]);
  m.density.resize(voxel_count(m.grid));
  in.numbers(m.density.size(), m.density.data(), per_bohr3_to_per_a3, "density");

  validate_material(m, path);
  compute_electron_counts(m);
  return m;
}

std::string format_cube(const Material& m) {
  std::string out = "rhotrain export of " + m.id + "\nOUTER LOOP: X, MIDDLE LOOP: Y, INNER LOOP: Z\n";
  char buf[160];
  std::snprintf(buf, sizeof buf, "%5zu %16.10f %16.10f %16.10f\n", m.numbers.size(), 0.0, 0.0, 0.0);
  out += buf;
  for (int r = 0; r < 3; ++r) {
    const Eigen::Vector3d step = m.lattice.row(r).transpose() / (m.grid[r] * kBohrInAngstrom);
    std::snprintf(buf, sizeof buf, "%5d %16.10f %16.10f %16.10f\n", m.grid[r], step.x(), step.y(), step.z());
    out += buf;
  }
  for (size_t a = 0; a < m.numbers.size(); ++a) {
    const Eigen::Vector3d cart = (m.frac_coords[a].transpose() * m.lattice).transpose() / kBohrInAngstrom;
    std::snprintf(buf, sizeof buf, "%5d %16.10f %16.10f %16.10f %16.10f\n", m.numbers[a],
                  static_cast<double>(m.numbers[a]), cart.x(), cart.y(), cart.z());
    out += buf;
  }
  const double to_per_bohr3 = kBohrInAngstrom * kBohrInAngstrom * kBohrInAngstrom;
  const size_t nz = static_cast<size_t>(m.grid[2]);
  for (size_t row = 0; row < m.density.size() / nz; ++row) {
    for (size_t k = 0; k < nz; ++k) {
      std::snprintf(buf, sizeof buf, " %.9E", m.density[row * nz + k] * to_per_bohr3);
      out += buf;
      if (k % 6 == 5 && k + 1 < nz) out += '\n';
    }
    out += '\n';
  }
  return out;
}

}  // namespace rhotrain
