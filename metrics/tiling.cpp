#include "metrics/tiling.h"

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

std::vector<Tile> overlapping_grid_tiles(const std::array<int, 3>& grid, int patch, int stride) {
  return product(overlapping_axis_tiles(grid[0], patch, stride), overlapping_axis_tiles(grid[1], patch, stride),
                 overlapping_axis_tiles(grid[2], patch, stride));
}

}  // namespace rhotrain
