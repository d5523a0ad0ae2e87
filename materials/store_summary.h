// What `rhotrain info` (and `synth`, after writing) says about a store: counts per split and the spread of atoms,
// grid voxels and electron counts over its materials — as a table, or as JSON for scripts.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/quantiles.h"
#include "materials/store.h"

namespace rhotrain {

struct StoreSummary {
  std::vector<std::string> paths;
  size_t materials = 0;
  std::map<std::string, size_t> splits;  // name → size
  // min / p10 / p50 / p90 / max over the materials (all zero for an empty store)
  Summary n_atoms, grid_voxels, n_e_sum_z, n_e_grid;
};

StoreSummary summarize_store(const MaterialStore& store);
std::string format_store_summary(const StoreSummary& s);
nlohmann::json store_summary_json(const StoreSummary& s);

}  // namespace rhotrain
