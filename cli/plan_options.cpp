#include "cli/plan_options.h"

#include "cli/args.h"

namespace rhotrain {

void add_plan_options(cxxopts::Options& o) {
  o.add_options()
      ("split", "split to draw patches from", cxxopts::value<std::string>()->default_value("train"))
      ("weighting", "uniform | electrons", cxxopts::value<std::string>()->default_value("uniform"))
      ("weighting-mode", "sampling | loss", cxxopts::value<std::string>()->default_value("sampling"))
      ("electrons-from", "sum_z | grid", cxxopts::value<std::string>()->default_value("sum_z"))
      ("patches-per-mat", "M̄, patches per material per epoch", cxxopts::value<double>()->default_value("64"))
      ("seed", "plan seed", cxxopts::value<uint64_t>()->default_value("0"));
}

PlanSpec plan_spec_from(const cxxopts::ParseResult& r) {
  PlanSpec s;
  s.weighting = choice("weighting", r["weighting"].as<std::string>(), weighting_names());
  s.mode = parse_weighting_mode(choice("weighting-mode", r["weighting-mode"].as<std::string>(), {"sampling", "loss"}));
  s.electrons_from = parse_electrons_from(choice("electrons-from", r["electrons-from"].as<std::string>(), {"sum_z", "grid"}));
  s.patches_per_mat = r["patches-per-mat"].as<double>();
  s.seed = r["seed"].as<uint64_t>();
  return s;
}

}  // namespace rhotrain
