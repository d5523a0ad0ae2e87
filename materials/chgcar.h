// VASP CHGCAR-style volumetric files (as written by VASP, ASE and pymatgen): import and export.
// On disk the values are ρ·V_cell listed with x fastest; in memory they become e/Å³ in C order.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "materials/material.h"

namespace rhotrain {

// Reads the total density (the first volumetric block). Augmentation occupancies and a following
// spin/magnetisation block are skipped. A VASP 4 file has no species line: `species` names the
// types in order (e.g. {"Cu"}), and without it the read fails with a message saying so; a file with a species
// line ignores it.
Material read_chgcar(const std::string& path, const std::vector<std::string>& species = {});

// A POSCAR / CONTCAR (or the structure of a CHGCAR, with its grid and density): lattice and atoms, and the grid and
// density when the file goes on with them (otherwise grid {0, 0, 0} and no density). `species` as for read_chgcar.
Material read_vasp_structure(const std::string& path, const std::vector<std::string>& species = {});

// The species a VASP 5 file names on its sixth line, or nothing for a VASP 4 file (counts there).
std::optional<std::vector<std::string>> chgcar_species_line(const std::string& path);

// VASP 5 text (with species line, Direct coordinates) that read_chgcar turns back into `m`.
std::string format_chgcar(const Material& m);

}  // namespace rhotrain
