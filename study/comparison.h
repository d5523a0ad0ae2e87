// Phase 1 vs Phase 2 of the weighting study: checks that the runs were matched (K training seeds per arm; seed s of
// one arm differs from seed s of the other in the weighting alone, the seeds of an arm in train.seed alone, all
// evaluated alike at one step), pairs their evaluations by seed and material id and writes the Markdown report
// with two-level bootstrap differences, the H1–H3 verdicts, a noise control (two seeds of the uniform arm) and
// two SVG plots beside it.
#pragma once
#include <string>
#include <vector>

namespace rhotrain {

struct ComparisonRequest {
  std::vector<std::string> runs;   // K runs per arm, in any order: grouped by data.weighting, paired by train.seed
  std::string step = "last";       // an evaluated step, or the last one the runs have of the split
  std::string split = "val_200";
  std::vector<std::string> store;  // the store the runs were evaluated on with `eval --store`; empty: their own
  std::string out = "report.md";
  bool force = false;              // compare runs that are not matched
};

// Returns the report's headline table (what `compare` and `experiment` print).
std::string write_comparison(const ComparisonRequest& request);

}  // namespace rhotrain
