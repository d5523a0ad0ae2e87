// Full-coverage tiling of a periodic grid by P×P×P patches, so that every voxel is predicted exactly once.
// Per axis: starts 0, P, 2P, … while start ≤ n−P; if n mod P ≠ 0 one more patch at n−P of which only the last
// n mod P voxels are used; if n < P one wrapped patch at 0 of which the first n voxels are used.
// Or overlapping patches every `stride` voxels (periodic), each voxel the weighted mean of every patch over it.
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

// Patches at 0, stride, 2·stride, … < n on each axis (wrapping periodically), every voxel of each used.
std::vector<Tile> overlapping_grid_tiles(const std::array<int, 3>& grid, int patch, int stride);
// How much more a density steps across the tiling's patch boundaries than inside patches: the mean |ρ(v + e) − ρ(v)|
// over neighbouring voxels on two sides of a boundary (along each axis, periodically) divided by the same mean over
// neighbours within one patch. A DFT density has ~1 (the boundaries are arbitrary planes); a prediction whose patches
// disagree at their edges has more. 1 when the grid has no boundary (an axis of one patch or less).
double seam_ratio(const std::array<int, 3>& grid, const float* values, int patch);

// The weight of a patch's voxel at offset a along one axis in the overlapping mean: min(a + 1, P − a), so a voxel
// counts most from the patches it sits in the middle of, where the model sees most of its surroundings, and the
// patches' edges fade out rather than meet in a seam.
inline double overlap_weight(int a, int patch) { return a + 1 < patch - a ? a + 1 : patch - a; }

}  // namespace rhotrain
