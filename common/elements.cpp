#include "common/elements.h"

#include <array>
#include <cctype>

#include "common/error.h"

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

ElementPlace element_place(int z) {
  element_symbol(z);  // range check
  static const int kNobleGas[] = {0, 2, 10, 18, 36, 54, 86, 118};
  int period = 1;
  while (z > kNobleGas[period]) ++period;
  const int i = z - kNobleGas[period - 1] - 1;  // index within the period
  ElementPlace e{period, 0, 0, z - kNobleGas[period - 1]};
  if (period == 1) {
    e.group = i == 0 ? 1 : 18;
  } else if (period <= 3) {
    e.group = i < 2 ? i + 1 : i + 11;
  } else if (period <= 5) {
    e.group = i + 1;
  } else {
    e.group = i < 2 ? i + 1 : i <= 16 ? 3 : i - 13;
    if (i >= 2 && i <= 16) e.block = 3;
  }
  if (e.block != 3) e.block = (e.group <= 2 || z == 2) ? 0 : e.group >= 13 ? 1 : 2;
  return e;
}

std::array<float, kElementFeatures> element_features(int z) {
  const ElementPlace e = element_place(z);
  std::array<float, kElementFeatures> f{};
  f[static_cast<size_t>(e.period - 1)] = 1;
  f[static_cast<size_t>(7 + e.group - 1)] = 1;
  f[static_cast<size_t>(25 + e.block)] = 1;
  f[29] = static_cast<float>(e.valence) / 10.0f;
  f[30] = static_cast<float>(z) / 100.0f;
  return f;
}

}  // namespace rhotrain
