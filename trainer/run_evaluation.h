// The evaluation a training run does at a step: every eval set scored, recorded where compare finds it, logged to
// TensorBoard and printed; and whether a checkpointed step still lacks that evaluation.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "materials/store.h"
#include "metrics/eval_record.h"
#include "trainer/density_predictor.h"
#include "trainer/events.h"
#include "trainer/settings.h"

namespace rhotrain {


// On several ranks the materials are shared out and the records written by rank 0. Returns the seconds it took, or
// nothing when `stop` cut it short (it says so; nothing is recorded then).
std::optional<double> evaluate_run_step(const MaterialStore& store, const DensityCoding& coding, DensityTransformer& model,
                                        const EvalSettings& settings, int64_t step, const std::string& run_dir,
                                        EventWriter& events, const std::function<bool()>& stop);

// An evaluation's scalars under `prefix` (eval/<set>/ in training): per-material mean, per-electron, median, p99, deciles,
// the floors, both baselines and the ratio to the atomic one, and the seconds it took.
void log_eval_scalars(EventWriter& events, const EvalRecord& record, const std::string& prefix);

// Whether the run evaluates at `step` (at every checkpoint, or every eval.every steps, and at the end) but has no
// record of it: a stop during an evaluation leaves its checkpoint so, and the resumed run catches up first.
bool evaluation_missing(const RunSettings& s, const std::string& run_dir, int64_t step);

}  // namespace rhotrain
