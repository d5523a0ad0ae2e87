// `rhotrain compare`: Phase 1 vs Phase 2. Checks the two runs were matched (they differ in the weighting
// alone), pairs their evaluations by material id and writes the Markdown report with H1–H3 and SVG plots.
#pragma once
#include <string>

namespace rhotrain {

int cmd_compare(int argc, char** argv);

// Writes the report for two run directories; returns the report's headline table (for the experiment).
std::string write_comparison(const std::string& run_a, const std::string& run_b, const std::string& step,
                             const std::string& set, const std::string& out, bool force);

}  // namespace rhotrain
