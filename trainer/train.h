// One training run of the study (train.cpp reads top to bottom: the run directory, data, model, the steps),
// and the stop flag that SIGINT / SIGTERM raise so that a run checkpoints and exits cleanly.
#pragma once
#include <string>

#include "trainer/run_config.h"

namespace rhotrain {

// Trains with a resolved config into `run_dir`, or continues its newest checkpoint when `resume`, on every rank of
// the process group. Returns true when a signal (on any rank) stopped it cleanly before its last step — it says how
// to resume — and false when it finished; throws Error on bad input before the first step.
bool train_run(const RunConfig& config, const std::string& run_dir, bool resume);

// The config a resumed run continues with: the one saved in its run directory.
RunConfig saved_run_config(const std::string& run_dir);

// True once SIGINT or SIGTERM asked the current run to stop.
bool stop_requested();
// Makes SIGINT and SIGTERM raise that flag in a process that supervises runs rather than training one.
void install_stop_handlers();

// Fits and caches the atomic-density baseline and the codec a run of `config` would use (unless they are there already),
// so that runs started side by side find them rather than each fitting them.
void prepare_fits(const RunConfig& config);

}  // namespace rhotrain
