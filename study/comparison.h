// Phase 1 vs Phase 2 of the weighting study: checks that two runs were matched (they differ in the weighting
// alone and were evaluated alike at one step), pairs their evaluations by material id and writes the Markdown
// report with paired-bootstrap differences, the H1–H3 verdicts and two SVG plots beside it.
#pragma once
#include <string>
#include <vector>

namespace rhotrain {

struct ComparisonRequest {
  std::string run_a, run_b;
  std::string step = "last";       // an evaluated step, or the last one both runs have of the split
  std::string split = "val_200";
  std::vector<std::string> store;  // the store the runs were evaluated on with `eval --store`; empty: their own
  std::string out = "report.md";
  bool force = false;              // compare runs that are not matched
};

// Returns the report's headline table (what `compare` and `experiment` print).
std::string write_comparison(const ComparisonRequest& request);

}  // namespace rhotrain
