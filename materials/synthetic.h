// The built-in default dataset: deterministic synthetic crystals shaped like the real problem
// (Materials-Project-like atom counts, elements across the periodic table, atom-centred valence densities).
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "materials/material.h"

namespace rhotrain {

// Material `index` of the dataset with `seed`: a pure function of both (any thread, any order).
// Density = periodic superposition of element-dependent radial valence profiles + bond charges + a
// small uniform background, normalised so that ∫ρ dV equals the valence electron count.
Material synthetic_material(uint64_t seed, size_t index);

// Valence electrons the generator gives element Z (Z minus the preceding noble-gas core).
int synthetic_valence(int z);

struct SynthSpec {
  size_t n_train = 2000;
  size_t n_val = 240;
  uint64_t seed = 0;
  int threads = 2;
};

// Writes the store (materials synth-000000…, splits train / val / val_200) atomically to `path`.
// `progress(done, total)` is called from the writing thread.
void write_synthetic_store(const std::string& path, const SynthSpec& spec,
                           const std::function<void(size_t, size_t)>& progress = {});

}  // namespace rhotrain
