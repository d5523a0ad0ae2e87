// rhotrain info: counts per split and the spread of atoms, grid sizes and electron counts of a store.
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "materials/store_summary.h"

namespace rhotrain {

int cmd_info(int argc, char** argv) {
  cxxopts::Options opts("rhotrain info", "Counts per split and distributions of atoms, grid size and electrons.");
  opts.add_options()("stores", "store file(s) or glob(s)", cxxopts::value<std::vector<std::string>>());
  opts.positional_help("STORE...");
  auto r = parse_command(opts, argc, argv, {"stores"});
  const MaterialStore store(expand_store_paths(required<std::vector<std::string>>(r, "stores")), 0);
  std::cout << store_summary(store);
  return 0;
}

}  // namespace rhotrain
