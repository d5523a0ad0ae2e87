#include "sampler/weighting.h"

#include <functional>

#include "common/error.h"

namespace rhotrain {
namespace {

class UniformWeighting : public WeightingStrategy {
 public:
  std::string name() const override { return "uniform"; }
  double weight(double) const override { return 1.0; }
};

class ElectronWeighting : public WeightingStrategy {
 public:
  std::string name() const override { return "electrons"; }
  double weight(double n_e) const override { return n_e; }
};

struct Registration {
  const char* name;
  std::function<std::unique_ptr<WeightingStrategy>()> make;
};

const Registration kRegistry[] = {
    {"uniform", [] { return std::make_unique<UniformWeighting>(); }},
    {"electrons", [] { return std::make_unique<ElectronWeighting>(); }},
};

}  // namespace

ElectronsFrom parse_electrons_from(const std::string& s) {
  if (s == "sum_z") return ElectronsFrom::sum_z;
  if (s == "grid") return ElectronsFrom::grid;
  throw Error("electrons_from must be sum_z or grid, not '" + s + "'");
}

const char* electrons_from_name(ElectronsFrom from) { return from == ElectronsFrom::grid ? "grid" : "sum_z"; }

double electron_count(double sum_z, double grid, ElectronsFrom from) { return from == ElectronsFrom::grid ? grid : sum_z; }

std::unique_ptr<WeightingStrategy> make_weighting(const std::string& name) {
  for (const auto& r : kRegistry)
    if (name == r.name) return r.make();
  std::string known;
  for (const auto& n : weighting_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown weighting '" + name + "' (known: " + known + ")");
}

std::vector<std::string> weighting_names() {
  std::vector<std::string> names;
  for (const auto& r : kRegistry) names.push_back(r.name);
  return names;
}

}  // namespace rhotrain
