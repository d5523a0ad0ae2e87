// The electrons per element that a set of densities integrates to (∫ρ dV), fitted over the set: what a prediction for
// a new structure should integrate to under the training data's convention (valence densities hold fewer than ΣZ).
#pragma once
#include <map>
#include <optional>
#include <vector>

#include "materials/material.h"

namespace rhotrain {

struct ValenceTable {
  std::map<int, double> electrons;  // Z → electrons per atom, least squares over the set
  double max_residual = 0;          // largest |∫ρ dV − Σ electrons| over the set
  size_t materials = 0;

  // Σ electrons over `numbers`, or nothing when an element is not in the table.
  std::optional<double> expected(const std::vector<int>& numbers) const;
};

// Least squares of ∫ρ dV against the atom counts per element; values within 0.02 of an integer become that integer
// (pseudopotentials and the synthetic profiles hold whole valence counts). Throws Error when `set` is empty.
ValenceTable fit_valence_table(const std::vector<const MaterialMeta*>& set);

}  // namespace rhotrain
