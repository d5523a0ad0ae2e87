// One picture of a material's density on a lattice plane, written as PNG with Cairo: the true density, the
// prediction and their difference side by side, a shared log colour scale for ρ and a diverging one for the error.
#pragma once
#include <string>
#include <vector>

#include "materials/material.h"
#include "pictures/slice_plane.h"

namespace rhotrain {

// Either grid may be empty (then its panel, and the difference, are left out); each non-empty one holds
// voxel_count(structure.grid) values in e/Å³, C order, as Material::density.
struct DensityFigure {
  std::string title;             // printed above the panels
  std::vector<float> truth, predicted;
};

// Panels: "DFT" (truth), "predicted", "predicted − DFT"; ρ panels share one log₁₀ colour scale (from the largest
// value shown down four decades), the difference a symmetric diverging one saturating at the 99th percentile of
// |error| (said in its title); each has its colour bar, the plane's cell outlined and its atoms marked. Written to a temporary name and renamed; throws Error
// naming `png_path` when it cannot be written.
void write_density_figure(const MaterialMeta& structure, const SlicePlane& plane, const DensityFigure& figure,
                          const std::string& png_path);

}  // namespace rhotrain
