#include "materials/material.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "common/elements.h"
#include "common/error.h"

namespace rhotrain {

double cell_volume(const Eigen::Matrix3d& lattice) {
  return lattice.row(0).dot(lattice.row(1).cross(lattice.row(2)));
}

double sum_z(const std::vector<int>& numbers) {
  double s = 0;
  for (int z : numbers) s += z;
  return s;
}

double integrate_density(const Eigen::Matrix3d& lattice, const Grid& grid, const std::vector<float>& density) {
  double s = 0;
  for (float v : density) s += v;
  return s * cell_volume(lattice) / static_cast<double>(voxel_count(grid));
}

void gather_patch(const Grid& grid, const float* density, const Grid& origin, int patch, float* out) {
  const int nx = grid[0], ny = grid[1], nz = grid[2];
  const int oz = ((origin[2] % nz) + nz) % nz;
  for (int a = 0; a < patch; ++a) {
    const int i = (((origin[0] + a) % nx) + nx) % nx;
    for (int b = 0; b < patch; ++b) {
      const int j = (((origin[1] + b) % ny) + ny) % ny;
      const float* row = density + (static_cast<size_t>(i) * ny + j) * nz;
      // Contiguous runs along k, split where the patch wraps around the cell.
      int c = 0, k = oz;
      while (c < patch) {
        const int run = std::min(patch - c, nz - k);
        std::memcpy(out, row + k, static_cast<size_t>(run) * sizeof(float));
        out += run;
        c += run;
        k = 0;
      }
    }
  }
}

void compute_electron_counts(Material& m) {
  m.n_electrons = sum_z(m.numbers);
  m.n_electrons_grid = integrate_density(m.lattice, m.grid, m.density);
}

void validate_structure(const MaterialMeta& m, const std::string& where) {
  const double volume = cell_volume(m.lattice);
  if (!(volume > 1e-9)) {
    std::ostringstream os;
    os << where << ": cell volume " << volume << " Å^3 is not positive (left-handed or degenerate lattice)";
    throw Error(os.str());
  }
  if (m.numbers.empty()) throw Error(where + ": no atoms");
  if (m.frac_coords.size() != m.numbers.size()) throw Error(where + ": atom count and coordinate count differ");
  for (int z : m.numbers)
    if (z < 1 || z > kMaxZ) throw Error(where + ": atomic number " + std::to_string(z) + " is outside 1..118");
  for (const auto& f : m.frac_coords)
    if (!f.allFinite()) throw Error(where + ": an atom position is not a finite number");
  // One site listed twice (a merged file, a duplicated line): the nearest images of two atoms closer than 0.1 Å.
  for (size_t i = 0; i < m.frac_coords.size(); ++i)
    for (size_t j = i + 1; j < m.frac_coords.size(); ++j) {
      Eigen::Vector3d d = m.frac_coords[i] - m.frac_coords[j];
      d -= d.array().round().matrix();
      const double distance = (m.lattice.transpose() * d).norm();
      if (distance < 0.1) {
        std::ostringstream os;
        os << where << ": atoms " << i << " and " << j << " sit " << distance << " Å apart (one site listed twice?)";
        throw Error(os.str());
      }
    }
}

std::vector<std::string> normalise_for_store(Material& m) {
  std::vector<std::string> said;
  size_t wrapped = 0;
  for (auto& f : m.frac_coords) {
    const Eigen::Vector3d before = f;
    for (int d = 0; d < 3; ++d) {
      f[d] -= std::floor(f[d]);
      if (f[d] >= 1.0) f[d] = 0.0;  // −1e-17 wraps to 1.0 in floating point
    }
    wrapped += f != before;
  }
  if (wrapped) said.push_back(std::to_string(wrapped) + " atom(s) outside [0, 1) wrapped into the cell");
  size_t negative = 0;
  float lowest = 0;
  for (float v : m.density)
    if (v < 0) ++negative, lowest = std::min(lowest, v);
  if (negative) {
    std::ostringstream os;
    os << negative << " of " << m.density.size() << " voxels are negative (down to " << lowest
       << " e/Å³), kept as read; the codec encodes them as its lowest level";
    said.push_back(os.str());
  }
  return said;
}

void validate_material(const Material& m, const std::string& where) {
  validate_structure(m, where);
  for (int d = 0; d < 3; ++d)
    if (m.grid[d] <= 0) throw Error(where + ": grid dimensions must be positive");
  if (m.density.size() != voxel_count(m.grid))
    throw Error(where + ": density has " + std::to_string(m.density.size()) + " values, grid needs " +
                std::to_string(voxel_count(m.grid)));
  for (size_t i = 0; i < m.density.size(); ++i) {
    if (!std::isfinite(m.density[i])) {
      std::ostringstream os;
      os << where << ": density value " << m.density[i] << " at voxel " << i << " is not finite";
      throw Error(os.str());
    }
  }
}

int fft_friendly_size(int n) {
  for (int m = std::max(n, 1);; ++m) {
    int r = m;
    for (int f : {2, 3, 5})
      while (r % f == 0) r /= f;
    if (r == 1) return m;
  }
}

Grid grid_for_spacing(const Eigen::Matrix3d& lattice, double spacing) {
  if (!(spacing > 0)) throw Error("grid spacing must be positive, not " + std::to_string(spacing) + " Å");
  Grid g{};
  for (int d = 0; d < 3; ++d) g[d] = fft_friendly_size(static_cast<int>(std::ceil(lattice.row(d).norm() / spacing - 1e-9)));
  return g;
}

}  // namespace rhotrain
