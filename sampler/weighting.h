// Weighting strategies: how much of the patch budget each training material gets (w_i).
// uniform: 1; electrons: n_e. A new strategy is one class in weighting.cpp plus one line in its registry.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "materials/material.h"

namespace rhotrain {

// Which electron count n_e means: ΣZ (default, as the source study) or ∫ρ dV (valence, for PAW data).
enum class ElectronsFrom { sum_z, grid };
ElectronsFrom parse_electrons_from(const std::string& s);
const char* electrons_from_name(ElectronsFrom from);
double electron_count(double n_electrons_sum_z, double n_electrons_grid, ElectronsFrom from);

class WeightingStrategy {
 public:
  virtual ~WeightingStrategy() = default;
  virtual std::string name() const = 0;
  // w_i > 0 for a material with n_e electrons.
  virtual double weight(double n_e) const = 0;
};

// "uniform" or "electrons"; throws Error listing the known names otherwise.
std::unique_ptr<WeightingStrategy> make_weighting(const std::string& name);
std::vector<std::string> weighting_names();

}  // namespace rhotrain
