// rhotrain info: counts per split and the spread of atoms, grid sizes and electron counts of a store; its material
// ids with --ids; JSON with --json.
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "materials/store_summary.h"

namespace rhotrain {

int cmd_info(int argc, char** argv) {
  cxxopts::Options opts("rhotrain info", "Counts per split and distributions of atoms, grid size and electrons.");
  opts.add_options()
      ("store", "store file(s) or glob(s)", cxxopts::value<std::vector<std::string>>())
      ("ids", "list the material ids, one per line (with --json: as a list in the object)")
      ("json", "print one JSON object instead of the table");
  opts.add_options(kAliases)("stores", "", cxxopts::value<std::vector<std::string>>());
  auto r = parse_command(opts, argc, argv, {"stores"});
  const MaterialStore store(expand_store_paths(store_arguments(r)), 0);
  const bool ids = r.count("ids") > 0;
  if (r.count("json")) {
    nlohmann::json j = store_summary_json(summarize_store(store));
    if (ids) j["ids"] = store.ids();
    std::cout << j.dump(1) << "\n";
  } else if (ids) {
    for (const auto& id : store.ids()) std::cout << id << "\n";
  } else {
    std::cout << format_store_summary(summarize_store(store));
  }
  return 0;
}

}  // namespace rhotrain
