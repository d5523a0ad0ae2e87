// rhotrain compare: the Phase 1 vs Phase 2 report of matched runs (K seeds per arm), on the split (and store) they were
// evaluated on.
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "common/error.h"
#include "study/comparison.h"

namespace rhotrain {

int cmd_compare(int argc, char** argv) {
  cxxopts::Options opts("rhotrain compare", "Phase 1 vs Phase 2: paired comparison over K seeds per arm, H1-H3, noise control, Markdown report with plots.");
  opts.add_options()
      ("runs", "run directories: K per arm, any order (grouped by data.weighting, paired by train.seed)",
       cxxopts::value<std::vector<std::string>>())
      ("step", "evaluated step, or 'last'", cxxopts::value<std::string>()->default_value("last"))
      ("split", "evaluated split", cxxopts::value<std::string>()->default_value("val_200"))
      ("store", "the store the runs were evaluated on with `eval --store` (default: their own)",
       cxxopts::value<std::vector<std::string>>())
      ("o,out", "report file (its plots are written beside it)", cxxopts::value<std::string>()->default_value("report.md"))
      ("force", "compare runs that are not matched");
  opts.add_options(kAliases)("set", "", cxxopts::value<std::string>())("output", "", cxxopts::value<std::string>());
  opts.positional_help("RUN...");
  auto r = parse_command(opts, argc, argv, {"runs"});
  ComparisonRequest request;
  request.runs = required<std::vector<std::string>>(r, "runs");
  if (request.runs.size() < 2) throw UsageError("compare takes at least two run directories (K per arm)");
  request.step = r["step"].as<std::string>();
  request.split = *given<std::string>(r, "split", "set");
  if (r.count("store")) request.store = r["store"].as<std::vector<std::string>>();
  request.out = *given<std::string>(r, "out", "output");
  request.force = r.count("force") > 0;
  std::cout << write_comparison(request);
  std::cout << "report: " << request.out << "\n";
  return 0;
}

}  // namespace rhotrain
