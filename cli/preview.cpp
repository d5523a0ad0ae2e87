// rhotrain preview: Phase 0 — the patch budget per material under each weighting, from metadata alone.
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/plan_options.h"
#include "sampler/patch_budget.h"

namespace rhotrain {

int cmd_preview(int argc, char** argv) {
  cxxopts::Options opts("rhotrain preview",
                        "Phase 0: patches per material per epoch under each weighting (reads metadata only).");
  opts.add_options()
      ("store", "store file(s) or glob(s)", cxxopts::value<std::vector<std::string>>())
      ("json", "print one JSON object instead of tables")
      ("plot", "SVG histogram path (default: next to the store; with --json: none)", cxxopts::value<std::string>()->default_value(""));
  add_plan_options(opts);
  auto r = parse_command(opts, argc, argv);
  const MaterialStore store(expand_store_paths(required<std::vector<std::string>>(r, "store")), 0);
  const std::string split = r["split"].as<std::string>();
  const PatchBudget budget = patch_budget(store, split, plan_spec_from(r));
  const bool json = r.count("json") > 0;
  std::string plot = r["plot"].as<std::string>();
  if (plot.empty() && !json) plot = default_budget_plot_path(store, split);
  std::printf("%s", write_patch_budget_preview(budget, plot, json).c_str());
  return 0;
}

}  // namespace rhotrain
