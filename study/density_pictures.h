// Pictures of one material's density as predict, plot and the comparison report draw them: the chosen lattice plane
// (through three given atoms, or the one with the most atoms), titled with the material and, given both grids, NMAE.
#pragma once
#include <string>
#include <vector>

#include "materials/material.h"

namespace rhotrain {

// `truth` or `predicted` may be empty. `plane_atoms`: three 0-based atom indices, or empty for the plane with the
// most atoms. Returns the plane's description.
std::string draw_material(const MaterialMeta& structure, const std::vector<float>& truth, const std::vector<float>& predicted,
                          const std::string& label, const std::vector<int>& plane_atoms, const std::string& png_path);

// "1,2,3" → {1, 2, 3}; throws UsageError naming --plane-atoms unless it is three atom indices below `n_atoms`.
std::vector<int> parse_plane_atoms(const std::string& text, size_t n_atoms);

}  // namespace rhotrain
