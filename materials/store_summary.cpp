#include "materials/store_summary.h"

#include <cstdio>
#include <sstream>

namespace rhotrain {

StoreSummary summarize_store(const MaterialStore& store) {
  StoreSummary s;
  s.paths = store.paths();
  s.materials = store.ids().size();
  s.splits = store.split_sizes();
  if (store.ids().empty()) return s;
  std::vector<double> atoms, voxels, ne, ne_grid;
  for (const auto& id : store.ids()) {
    const auto m = store.sizes(id);
    atoms.push_back(static_cast<double>(m.n_atoms));
    voxels.push_back(static_cast<double>(voxel_count(m.grid)));
    ne.push_back(m.n_electrons);
    ne_grid.push_back(m.n_electrons_grid);
  }
  s.n_atoms = summarize(atoms);
  s.grid_voxels = summarize(voxels);
  s.n_e_sum_z = summarize(ne);
  s.n_e_grid = summarize(ne_grid);
  return s;
}

std::string format_store_summary(const StoreSummary& s) {
  std::ostringstream os;
  os << "store: ";
  for (size_t i = 0; i < s.paths.size(); ++i) os << (i ? ", " : "") << s.paths[i];
  os << "\nmaterials: " << s.materials << "\nsplits:";
  if (s.splits.empty()) os << " none (run `rhotrain split`)";
  for (const auto& [name, n] : s.splits) os << " " << name << "=" << n;
  os << "\n";
  if (s.materials == 0) return os.str();
  char line[160];
  std::snprintf(line, sizeof line, "%-22s %10s %10s %10s %10s %10s\n", "", "min", "p10", "p50", "p90", "max");
  os << line;
  auto row = [&](const char* name, const Summary& v) {
    std::snprintf(line, sizeof line, "%-22s %10.6g %10.6g %10.6g %10.6g %10.6g\n", name, v.min, v.p10, v.p50, v.p90, v.max);
    os << line;
  };
  row("n_atoms", s.n_atoms);
  row("grid voxels", s.grid_voxels);
  row("n_e (sum Z)", s.n_e_sum_z);
  row("n_e (integral rho dV)", s.n_e_grid);
  std::snprintf(line, sizeof line, "n_e (sum Z) max:min = %.1f\n", s.n_e_sum_z.max / s.n_e_sum_z.min);
  os << line;
  return os.str();
}

nlohmann::json store_summary_json(const StoreSummary& s) {
  auto spread = [](const Summary& v) {
    return nlohmann::json{{"min", v.min}, {"p10", v.p10}, {"p50", v.p50}, {"p90", v.p90}, {"max", v.max}};
  };
  return {{"stores", s.paths},          {"materials", s.materials},        {"splits", s.splits},
          {"n_atoms", spread(s.n_atoms)}, {"grid_voxels", spread(s.grid_voxels)}, {"n_e_sum_z", spread(s.n_e_sum_z)},
          {"n_e_grid", spread(s.n_e_grid)}};
}

}  // namespace rhotrain
