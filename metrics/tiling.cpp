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

std::vector<Tile> grid_tiles(const std::array<int, 3>& grid, int patch) {
  const auto a = axis_tiles(grid[0], patch), b = axis_tiles(grid[1], patch), c = axis_tiles(grid[2], patch);
  std::vector<Tile> out;
  out.reserve(a.size() * b.size() * c.size());
  for (const auto& x : a)
    for (const auto& y : b)
      for (const auto& z : c) out.push_back({{x, y, z}});
  return out;
}

}  // namespace rhotrain
