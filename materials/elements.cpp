#include "materials/elements.h"

#include <array>
#include <cctype>

#include "materials/error.h"

namespace rhotrain {
namespace {

const std::array<std::string, kMaxZ> kSymbols = {
    "H",  "He", "Li", "Be", "B",  "C",  "N",  "O",  "F",  "Ne", "Na", "Mg", "Al", "Si", "P",
    "S",  "Cl", "Ar", "K",  "Ca", "Sc", "Ti", "V",  "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn",
    "Ga", "Ge", "As", "Se", "Br", "Kr", "Rb", "Sr", "Y",  "Zr", "Nb", "Mo", "Tc", "Ru", "Rh",
    "Pd", "Ag", "Cd", "In", "Sn", "Sb", "Te", "I",  "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd",
    "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W",  "Re",
    "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th",
    "Pa", "U",  "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf", "Db",
    "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og"};

}  // namespace

int atomic_number(const std::string& symbol) {
  // POTCAR-style names carry suffixes ("Si_pv", "Fe_sv_GW"): the element is an uppercase-able
  // first letter plus an optional lowercase second letter.
  if (symbol.empty() || !std::isalpha(static_cast<unsigned char>(symbol[0]))) return 0;
  std::string s(1, static_cast<char>(std::toupper(static_cast<unsigned char>(symbol[0]))));
  if (symbol.size() > 1 && std::islower(static_cast<unsigned char>(symbol[1]))) s += symbol[1];
  for (int z = 1; z <= kMaxZ; ++z)
    if (kSymbols[z - 1] == s) return z;
  return 0;
}

const std::string& element_symbol(int z) {
  if (z < 1 || z > kMaxZ) throw Error("atomic number " + std::to_string(z) + " is outside 1..118");
  return kSymbols[z - 1];
}

}  // namespace rhotrain
