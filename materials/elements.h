// Chemical element symbols <-> atomic numbers (Z = 1..118).
// Used by the CHGCAR/cube readers and writers, which name species by symbol.
#pragma once
#include <string>

namespace rhotrain {

constexpr int kMaxZ = 118;

// Atomic number of a symbol ("Si", "si", "Si_pv", "Si1+" all give 14); 0 if unknown.
int atomic_number(const std::string& symbol);

// Symbol of Z; throws rhotrain::Error if Z is outside 1..118.
const std::string& element_symbol(int z);

}  // namespace rhotrain
