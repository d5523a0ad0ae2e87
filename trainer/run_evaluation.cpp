#include "trainer/run_evaluation.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "common/files.h"
#include "trainer/distributed.h"
#include "trainer/evaluator.h"

namespace rhotrain {
namespace {

namespace fs = std::filesystem;

std::string eval_record_file(const std::string& run_dir, const std::string& set, int64_t step) {
  return (fs::path(eval_record_dir(run_dir, set, {})) / ("step-" + std::to_string(step) + ".json")).string();
}

}  // namespace

void log_eval_scalars(EventWriter& events, const EvalRecord& r, const std::string& p) {
  const Aggregates& a = r.aggregates;
  events.scalar(p + "nmae_per_mat_mean", r.step, a.per_mat_mean.value);
  events.scalar(p + "nmae_per_electron", r.step, a.per_electron.value);
  events.scalar(p + "nmae_median", r.step, a.median);
  events.scalar(p + "nmae_p99", r.step, a.p99);
  for (size_t d = 0; d < a.deciles.size(); ++d) {
    if (!available(a.deciles[d].per_mat_mean)) continue;  // an empty decile has no value to plot
    char tag[40];
    std::snprintf(tag, sizeof tag, "nmae_decile_%02zu", d);
    events.scalar(p + tag, r.step, a.deciles[d].per_mat_mean.value);
    if (!std::isnan(a.deciles[d].atomic_per_mat_mean)) events.scalar(p + "atomic_baseline_" + tag, r.step, a.deciles[d].atomic_per_mat_mean);
  }
  events.scalar(p + "floor_nmae_per_mat_mean", r.step, a.floor_per_mat_mean);
  events.scalar(p + "floor_nmae_per_electron", r.step, a.floor_per_electron);
  events.scalar(p + "uniform_baseline_nmae_per_mat_mean", r.step, a.uniform_per_mat_mean);
  events.scalar(p + "uniform_baseline_nmae_per_electron", r.step, a.uniform_per_electron);
  if (!std::isnan(a.atomic_per_mat_mean)) {
    events.scalar(p + "atomic_baseline_nmae_per_mat_mean", r.step, a.atomic_per_mat_mean);
    events.scalar(p + "atomic_baseline_nmae_per_electron", r.step, a.atomic_per_electron);
    events.scalar(p + "nmae_per_mat_mean_over_atomic_baseline", r.step, a.per_mat_mean.value / a.atomic_per_mat_mean);
  }
  if (!std::isnan(a.seam_ratio)) events.scalar(p + "seam_ratio", r.step, a.seam_ratio);
  events.scalar(p + "seconds", r.step, r.seconds);
}

std::optional<double> evaluate_run_step(const MaterialStore& store, const DensityCoding& coding, DensityTransformer& model,
                                        const EvalSettings& settings, int64_t step, const std::string& run_dir,
                                        EventWriter& events, const std::function<bool()>& stop) {
  double seconds = 0;
  for (const auto& set : settings.sets) {
    SkipReport skipped;
    const auto rec = evaluate_set(store, set, coding, &model, settings, step, skipped, stop);
    if (!rec) {
      std::fprintf(stderr, "stop requested: the evaluation at step %lld is left for the resumed run\n", static_cast<long long>(step));
      return std::nullopt;
    }
    skipped.print(std::cerr, "eval " + set);
    if (process_group().is_main()) {
      fs::create_directories(eval_record_dir(run_dir, set, {}));
      write_text_file_atomic(eval_record_file(run_dir, set, step), eval_record_json(*rec));
    }
    log_eval_scalars(events, *rec, "eval/" + set + "/");
    print_eval_table(std::cerr, *rec);
    seconds += rec->seconds;
  }
  return seconds;
}

bool evaluation_missing(const RunSettings& s, const std::string& run_dir, int64_t step) {
  const int64_t every = s.eval.every > 0 ? s.eval.every : s.checkpoint.every;
  if (step == 0 || (step % every != 0 && step != s.train.steps)) return false;
  for (const auto& set : s.eval.sets)
    if (!fs::exists(eval_record_file(run_dir, set, step))) return true;
  return false;
}


}  // namespace rhotrain
