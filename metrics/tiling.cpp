#include "metrics/tiling.h"

#include <cmath>
#include <cstddef>
#include <stdexcept>

namespace rhotrain {

std::vector<AxisTile> axis_tiles(int n, int patch) {
  if (n < 1 || patch < 1) throw std::invalid_argument("axis_tiles: n and patch must be positive");
  std::vector<AxisTile> tiles;
  if (n < patch) return {{0, 0, n}};
  for (int s = 0; s <= n - patch; s += patch) tiles.push_back({s, 0, patch});
  const int rest = n % patch;
  if (rest != 0) tiles.push_back({n - patch, patch - rest, rest});
  return tiles;
}

namespace {

std::vector<Tile> product(const std::vector<AxisTile>& a, const std::vector<AxisTile>& b, const std::vector<AxisTile>& c) {
  std::vector<Tile> out;
  out.reserve(a.size() * b.size() * c.size());
  for (const auto& x : a)
    for (const auto& y : b)
      for (const auto& z : c) out.push_back({{x, y, z}});
  return out;
}

std::vector<AxisTile> overlapping_axis_tiles(int n, int patch, int stride) {
  if (n < 1 || patch < 1 || stride < 1) throw std::invalid_argument("overlapping tiles: n, patch and stride must be positive");
  std::vector<AxisTile> tiles;
  for (int s = 0; s < n; s += stride) tiles.push_back({s, 0, patch});
  return tiles;
}

}  // namespace

std::vector<Tile> grid_tiles(const std::array<int, 3>& grid, int patch) {
  return product(axis_tiles(grid[0], patch), axis_tiles(grid[1], patch), axis_tiles(grid[2], patch));
}

double seam_ratio(const std::array<int, 3>& grid, const float* values, int patch) {
  double across = 0, within = 0;
  size_t n_across = 0, n_within = 0;
  for (int axis = 0; axis < 3; ++axis) {
    const int n = grid[axis];
    // Voxel i and i + 1 (mod n) lie on two sides of a boundary where i + 1 starts a tile's used run of voxels.
    std::vector<bool> boundary_after(static_cast<size_t>(n), false);
    const auto tiles = axis_tiles(n, patch);
    if (tiles.size() < 2) continue;
    for (const auto& t : tiles) boundary_after[static_cast<size_t>((t.start + t.first_used + n - 1) % n)] = true;
    const size_t stride = axis == 0 ? static_cast<size_t>(grid[1]) * grid[2] : axis == 1 ? static_cast<size_t>(grid[2]) : 1;
    for (size_t v = 0; v < static_cast<size_t>(grid[0]) * grid[1] * grid[2]; ++v) {
      const int i = static_cast<int>(v / stride % static_cast<size_t>(n));
      const size_t next = i + 1 < n ? v + stride : v - static_cast<size_t>(i) * stride;
      const double step = std::fabs(static_cast<double>(values[next]) - values[v]);
      if (boundary_after[static_cast<size_t>(i)]) across += step, ++n_across;
      else within += step, ++n_within;
    }
  }
  if (n_across == 0 || n_within == 0 || within == 0) return 1.0;
  return (across / static_cast<double>(n_across)) / (within / static_cast<double>(n_within));
}

std::vector<Tile> overlapping_grid_tiles(const std::array<int, 3>& grid, int patch, int stride) {
  return product(overlapping_axis_tiles(grid[0], patch, stride), overlapping_axis_tiles(grid[1], patch, stride),
                 overlapping_axis_tiles(grid[2], patch, stride));
}

}  // namespace rhotrain
