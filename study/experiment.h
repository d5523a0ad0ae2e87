// The whole weighting study in one call: the default data if missing, the Phase 0 preview, Phase 1 (uniform) and
// Phase 2 (electrons) trained from one config that differ in the weighting alone, the comparison report, and both
// models scored on the real-DFT fixtures. Re-running continues an interrupted study and skips finished phases.
#pragma once
#include <string>

#include "trainer/run_config.h"

namespace rhotrain {

struct ExperimentOutcome {
  bool stopped = false;  // a signal stopped a phase; running again continues it
  std::string report;    // OUT/report.md
  std::string headline;  // the report's headline table
};

// `fixtures` is a folder with manifest.json, or "" to skip the real-DFT table.
ExperimentOutcome run_experiment(const RunConfig& config, const std::string& out,
                                 const std::string& fixtures);

}  // namespace rhotrain
