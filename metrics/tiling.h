// Full-coverage tiling of a periodic grid by P×P×P patches, so that every voxel is predicted exactly once.
// Per axis: starts 0, P, 2P, … while start ≤ n−P; if n mod P ≠ 0 one more patch at n−P of which only the last
// n mod P voxels are used; if n < P one wrapped patch at 0 of which the first n voxels are used.
#pragma once
#include <array>
#include <vector>

namespace rhotrain {

struct AxisTile {
  int start;       // patch origin on this axis
  int first_used;  // offset within the patch of the first voxel this tile contributes
  int used;        // how many consecutive voxels it contributes
};

std::vector<AxisTile> axis_tiles(int n, int patch);

struct Tile {
  std::array<AxisTile, 3> axis;
};
// The product of the three axes' tiles, in C order.
std::vector<Tile> grid_tiles(const std::array<int, 3>& grid, int patch);

}  // namespace rhotrain
