// Gaussian cube files (Quantum ESPRESSO pp.x, ASE): import and export.
// On disk lengths are Bohr and density e/Bohr³, values C-ordered; in memory Å and e/Å³.
#pragma once
#include <string>

#include "materials/material.h"

namespace rhotrain {

constexpr double kBohrInAngstrom = 0.529177210903;

Material read_cube(const std::string& path);
std::string format_cube(const Material& m);

}  // namespace rhotrain
