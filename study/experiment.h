// The whole weighting study in one call: the default data if missing, the Phase 0 preview, Phase 1 (uniform) and
// Phase 2 (electrons) trained from one config that differ in the weighting alone — K training seeds each, side by
// side where cores allow — the comparison report, and the models scored on the real-DFT fixtures. Re-running
// continues an interrupted study and skips finished runs; a larger K adds seeds to the runs already there.
#pragma once
#include <string>

#include "trainer/run_config.h"

namespace rhotrain {

struct ExperimentRequest {
  RunConfig config;
  std::string out = "runs/experiment";
  std::string fixtures;  // a folder with manifest.json, or "" to skip the real-DFT table
  int seeds = 2;         // K: train.seed, train.seed + 1, … in each arm
  int parallel = 0;      // runs trained at once, each a single-threaded process (0: one per core); 1: in this process
};

struct ExperimentOutcome {
  bool stopped = false;  // a signal stopped a run; running again continues it
  std::string report;    // OUT/report.md
  std::string headline;  // the report's headline table
};

ExperimentOutcome run_experiment(const ExperimentRequest& request);

}  // namespace rhotrain
