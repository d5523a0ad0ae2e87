// VASP CHGCAR-style volumetric files (as written by VASP, ASE and pymatgen): import and export.
// On disk the values are ρ·V_cell listed with x fastest; in memory they become e/Å³ in C order.
#pragma once
#include <string>
#include <vector>

#include "materials/material.h"

namespace rhotrain {

// Reads the total density (the first volumetric block). Augmentation occupancies and a following
// spin/magnetisation block are skipped. A VASP 4 file has no species line: `species` names the
// types in order (e.g. {"Cu"}), and without it the read fails with a message saying so.
Material read_chgcar(const std::string& path, const std::vector<std::string>& species = {});

// VASP 5 text (with species line, Direct coordinates) that read_chgcar turns back into `m`.
std::string format_chgcar(const Material& m);

}  // namespace rhotrain
