// Phase 1 vs Phase 2 of the weighting study: checks that two runs were matched (they differ in the weighting
// alone and were evaluated alike at one step), pairs their evaluations by material id and writes the Markdown
// report with paired-bootstrap differences, the H1–H3 verdicts and two SVG plots beside it.
#pragma once
#include <string>

namespace rhotrain {

// `step` is an evaluated step or "last"; unmatched runs are refused unless `force`. Returns the report's headline
// table (what `compare` and `experiment` print).
std::string write_comparison(const std::string& run_a, const std::string& run_b, const std::string& step,
                             const std::string& set, const std::string& out, bool force);

}  // namespace rhotrain
