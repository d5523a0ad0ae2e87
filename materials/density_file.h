// A density file of either kind rhotrain reads — a VASP CHGCAR or a Gaussian cube — told apart by its first
// lines, so `import` needs no --format, and a --format the file plainly is not is refused naming what it looks like.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "materials/material.h"

namespace rhotrain {

enum class DensityFormat { chgcar, cube };
const char* density_format_name(DensityFormat f);

// The format a file's layout says (CHGCAR: one scale factor, then three lattice rows of 3 numbers; cube: two
// comment lines, then atom count and origin, then three rows of a count and a vector), or nothing when neither.
std::optional<DensityFormat> sniff_density_format(const std::string& path);

// Reads `path` as `format`, or as what it looks like when no format is given. `species` names the types of a
// VASP 4 CHGCAR, which has no species line (see read_chgcar).
Material read_density_file(const std::string& path, std::optional<DensityFormat> format,
                           const std::vector<std::string>& species);

// The format a file name asks for: cube for *.cube (or *.cube.gz), else CHGCAR.
DensityFormat density_format_for_name(const std::string& path);

// Writes `m` as a VASP 5 CHGCAR or a cube file through a temporary name; a .gz name compresses; missing folders are
// created.
void write_density_file(const Material& m, const std::string& path, DensityFormat format);

// A structure from a POSCAR / CONTCAR, a CHGCAR or a cube file, with the file's grid and density when it has them
// (a POSCAR has neither: grid {0, 0, 0}, no density).
Material read_structure_file(const std::string& path, const std::vector<std::string>& species);

}  // namespace rhotrain
