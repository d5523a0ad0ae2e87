#include "materials/store_summary.h"

#include <cstdio>
#include <sstream>

#include "common/quantiles.h"

namespace rhotrain {

std::string store_summary(const MaterialStore& store) {
  std::ostringstream os;
  os << "store: ";
  for (size_t i = 0; i < store.paths().size(); ++i) os << (i ? ", " : "") << store.paths()[i];
  os << "\nmaterials: " << store.ids().size() << "\nsplits:";
  const auto sizes = store.split_sizes();
  if (sizes.empty()) os << " none (run `rhotrain split`)";
  for (const auto& [name, n] : sizes) os << " " << name << "=" << n;
  os << "\n";
  if (store.ids().empty()) return os.str();

  std::vector<double> atoms, voxels, ne, ne_grid;
  for (const auto& id : store.ids()) {
    const MaterialMeta& m = store.meta(id);
    atoms.push_back(static_cast<double>(m.n_atoms()));
    voxels.push_back(static_cast<double>(voxel_count(m.grid)));
    ne.push_back(m.n_electrons);
    ne_grid.push_back(m.n_electrons_grid);
  }
  char line[160];
  std::snprintf(line, sizeof line, "%-22s %10s %10s %10s %10s %10s\n", "", "min", "p10", "p50", "p90", "max");
  os << line;
  auto row = [&](const char* name, const std::vector<double>& v) {
    const Summary s = summarize(v);
    std::snprintf(line, sizeof line, "%-22s %10.6g %10.6g %10.6g %10.6g %10.6g\n", name, s.min, s.p10, s.p50, s.p90, s.max);
    os << line;
  };
  row("n_atoms", atoms);
  row("grid voxels", voxels);
  row("n_e (sum Z)", ne);
  row("n_e (integral rho dV)", ne_grid);
  const Summary s = summarize(ne);
  std::snprintf(line, sizeof line, "n_e (sum Z) max:min = %.1f\n", s.max / s.min);
  os << line;
  return os.str();
}

}  // namespace rhotrain
