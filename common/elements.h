// Chemical elements: symbols <-> atomic numbers (Z = 1..118) for the CHGCAR/cube readers and writers,
// and where an element sits in the periodic table, which the model uses to share what it learns across species.
#pragma once
#include <array>
#include <string>

namespace rhotrain {

constexpr int kMaxZ = 118;

// Atomic number of a symbol ("Si", "si", "Si_pv", "Si1+" all give 14); 0 if unknown.
int atomic_number(const std::string& symbol);

// Symbol of Z; throws rhotrain::Error if Z is outside 1..118.
const std::string& element_symbol(int z);

// Period (1..7), group (1..18; lanthanides and actinides count as group 3), block (0 s, 1 p, 2 d, 3 f)
// and valence electrons (beyond the previous noble gas's shell) of Z; throws Error outside 1..118.
struct ElementPlace {
  int period, group, block, valence;
};
ElementPlace element_place(int z);

// element_place as a fixed-length vector: one-hot period, one-hot group, one-hot block, valence / 10, Z / 100.
constexpr int kElementFeatures = 7 + 18 + 4 + 2;
std::array<float, kElementFeatures> element_features(int z);

}  // namespace rhotrain
