// rhotrain compare: the Phase 1 vs Phase 2 report of two matched runs.
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "common/error.h"
#include "study/comparison.h"

namespace rhotrain {

int cmd_compare(int argc, char** argv) {
  cxxopts::Options opts("rhotrain compare", "Phase 1 vs Phase 2: paired comparison, H1-H3, Markdown report with plots.");
  opts.add_options()
      ("runs", "two run directories", cxxopts::value<std::vector<std::string>>())
      ("step", "evaluated step, or 'last'", cxxopts::value<std::string>()->default_value("last"))
      ("set", "evaluation set", cxxopts::value<std::string>()->default_value("val_200"))
      ("o,output", "report file", cxxopts::value<std::string>()->default_value("report.md"))
      ("force", "compare runs that are not matched");
  opts.positional_help("RUN_A RUN_B");
  auto r = parse_command(opts, argc, argv, {"runs"});
  const auto runs = required<std::vector<std::string>>(r, "runs");
  if (runs.size() != 2) throw Error("compare takes exactly two run directories");
  const std::string out = r["output"].as<std::string>();
  std::cout << write_comparison(runs[0], runs[1], r["step"].as<std::string>(), r["set"].as<std::string>(), out, r.count("force") > 0);
  std::cout << "report: " << out << "\n";
  return 0;
}

}  // namespace rhotrain
