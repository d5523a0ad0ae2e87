#include "study/experiment.h"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/child_process.h"
#include "common/elements.h"
#include "common/error.h"
#include "common/files.h"
#include "common/json_file.h"
#include "common/text.h"
#include "materials/chgcar.h"
#include "materials/cube.h"
#include "materials/store.h"
#include "materials/synthetic.h"
#include "sampler/patch_budget.h"
#include "study/comparison.h"
#include "trainer/checkpoint.h"
#include "trainer/distributed.h"
#include "trainer/evaluator.h"
#include "trainer/run_evaluation.h"
#include "trainer/settings.h"
#include "trainer/train.h"

namespace rhotrain {
namespace {

namespace fs = std::filesystem;


struct StudyRun {
  std::string weighting, name, dir;  // name: the run's folder under OUT
  int64_t seed = 0;
  RunConfig config;
};

// The real-DFT fixtures as a store with one split, "fixtures". Their manifest.json names each file's format,
// material and atoms, so VASP 4 files (no species line) get their species from it rather than from a guess.
std::string fixture_store(const std::string& fixtures_dir, const std::string& out_dir) {
  const std::string path = (fs::path(out_dir) / "fixtures.h5").string();
  if (fs::exists(path)) return path;
  const std::string manifest_path = (fs::path(fixtures_dir) / "manifest.json").string();
  const nlohmann::json manifest = read_json_file(manifest_path);
  PendingFile pending(path);
  StoreWriter w(pending.temp_path(), StoreWriter::Mode::create);
  std::vector<std::string> ids;
  for (const auto& entry : manifest) {
    const std::string file = (fs::path(fixtures_dir) / entry.at("file").get<std::string>()).string();
    std::vector<std::string> species;  // distinct elements in order of appearance
    for (int z : entry.at("atomic_numbers")) {
      const std::string& symbol = element_symbol(z);
      if (std::find(species.begin(), species.end(), symbol) == species.end()) species.push_back(symbol);
    }
    Material m = entry.at("format") == "cube" ? read_cube(file) : read_chgcar(file, species);
    m.id = entry.at("material");
    w.write(m);
    ids.push_back(m.id);
  }
  if (ids.empty()) throw Error(manifest_path + ": lists no fixture");
  w.write_split("fixtures", ids);
  w.close();
  pending.commit();
  return path;
}

// Both arms on the real DFT fixtures (each material's NMAE the mean over an arm's seeds): how far the models transfer.
// Nothing when a stop signal came between two models.
std::optional<std::string> fixtures_table(const std::vector<StudyRun>& runs, size_t seeds, const std::string& fixtures,
                                          const std::string& out) {
  Distributed& group = process_group();
  const std::string store = (fs::path(out) / "fixtures.h5").string();
  if (group.is_main()) fixture_store(fixtures, out);
  group.barrier();
  CheckpointEvalRequest request;
  request.stores = {store};
  request.set = "fixtures";
  const std::string of_seeds = seeds > 1 ? " (mean of " + std::to_string(seeds) + " seeds)" : "";
  std::string table = "\n## Real DFT densities (" + fixtures + ")\n\nThe models on real DFT files written by other codes and "
                      "settings than any training data here: how far they transfer (a model trained on synthetic crystals is not "
                      "expected to).\n\n"
                      "| material | n_e | uniform NMAE %" + of_seeds + " | electrons NMAE %" + of_seeds +
                      " | codec floor % | atomic baseline % | uniform-density baseline % |\n|---|---|---|---|---|---|---|\n";
  std::map<std::string, std::vector<EvalRecord>> by_arm;
  std::fprintf(stderr, "== scoring the %s on the real-DFT fixtures of %s\n", count_of(runs.size(), "model").c_str(), fixtures.c_str());
  for (const auto& run : runs) {
    if (stop_requested()) return std::nullopt;
    SkipReport skipped;
    request.run_dir = run.dir;
    by_arm[run.weighting].push_back(evaluate_checkpoint(request, skipped));
    std::fprintf(stderr, "fixtures: %s: per-material mean NMAE %.2f %% (%.0f s)\n", run.name.c_str(),
                 100 * by_arm[run.weighting].back().aggregates.per_mat_mean.value, by_arm[run.weighting].back().seconds);
    if (!group.is_main()) continue;
    const std::string record_dir = eval_record_dir(run.dir, request.set, request.stores);
    fs::create_directories(record_dir);
    write_text_file_atomic((fs::path(record_dir) / ("step-" + std::to_string(by_arm[run.weighting].back().step) + ".json")).string(),
                           eval_record_json(by_arm[run.weighting].back()));
  }
  auto mean_nmae = [](const std::vector<EvalRecord>& recs, size_t i) {
    double s = 0;
    for (const auto& r : recs) s += r.materials[i].nmae;
    return s / static_cast<double>(recs.size());
  };
  auto mean_per_mat = [](const std::vector<EvalRecord>& recs) {
    double s = 0;
    for (const auto& r : recs) s += r.aggregates.per_mat_mean.value;
    return s / static_cast<double>(recs.size());
  };
  const auto &u = by_arm.at("uniform"), &e = by_arm.at("electrons");
  char row[320];
  for (size_t i = 0; i < u[0].materials.size(); ++i) {
    const auto& m = u[0].materials[i];
    std::snprintf(row, sizeof row, "| %s | %.0f | %.2f | %.2f | %.2f | %s | %.2f |\n", m.id.c_str(), m.n_e, 100 * mean_nmae(u, i),
                  100 * mean_nmae(e, i), 100 * m.floor_nmae, percent_text(m.atomic_nmae, 2).c_str(), 100 * m.uniform_nmae);
    table += row;
  }
  std::snprintf(row, sizeof row, "| **per-material mean** | | %.2f | %.2f | %.2f | %s | %.2f |\n", 100 * mean_per_mat(u), 100 * mean_per_mat(e),
                100 * u[0].aggregates.floor_per_mat_mean, percent_text(u[0].aggregates.atomic_per_mat_mean, 2).c_str(),
                100 * u[0].aggregates.uniform_per_mat_mean);
  return table + row;
}

// ---- the runs of the study: K seeds × two arms

// Seed s of an arm (train.seed = the config's + s). The first seed keeps the arm's plain folder name, so that a study
// run with one seed grows into one with several.
std::vector<StudyRun> study_runs(const RunConfig& config, const std::string& out, int seeds, bool single_threaded) {
  const int64_t base_seed = config.get_int("train.seed");
  std::vector<StudyRun> runs;
  for (int s = 0; s < seeds; ++s)
    for (const char* weighting : {"uniform", "electrons"}) {
      StudyRun r;
      r.weighting = weighting;
      r.seed = base_seed + s;
      r.name = std::string(r.weighting == "uniform" ? "phase1_uniform" : "phase2_electrons") + (s == 0 ? "" : "-seed" + std::to_string(r.seed));
      r.dir = (fs::path(out) / r.name).string();
      r.config = config;
      r.config.set("data.weighting", weighting, "experiment");
      r.config.set("train.seed", std::to_string(r.seed), "experiment --seeds");
      if (single_threaded && r.config.get_int("train.threads") == 0) r.config.set("train.threads", "1", "experiment, runs side by side");
      // A run that has started keeps its thread count: it changes how reductions round, so a resume may not change it.
      if (const auto last = latest_checkpoint(r.dir))
        r.config.set("train.threads", std::to_string(read_checkpoint_config(*last).get_int("train.threads")), r.dir);
      runs.push_back(std::move(r));
    }
  return runs;
}

// Finished: trained to the last step and evaluated there.
bool finished(const StudyRun& run) {
  const auto last = latest_checkpoint(run.dir);
  if (!last) return false;
  const int64_t step = read_train_state(*last).step;
  const RunSettings s = run_settings(run.config);
  return step >= s.train.steps && !evaluation_missing(s, run.dir, step);
}

// A folder the experiment made for a run that was killed before its first checkpoint holds nothing to resume from.
bool prepare_run_dir(const StudyRun& run) {
  if (latest_checkpoint(run.dir)) return true;
  if (fs::exists(run.dir) && !fs::is_empty(run.dir)) {
    std::fprintf(stderr, "%s: no complete checkpoint; starting it over\n", run.dir.c_str());
    fs::remove_all(run.dir);
  }
  return false;
}

// Every run in this process, one after another (under a launcher every rank takes part in each). True when stopped.
bool train_in_turn(const std::vector<StudyRun>& runs) {
  for (const auto& run : runs) {
    std::fprintf(stderr, "== %s: %s weighting, seed %lld → %s\n", run.weighting == "uniform" ? "Phase 1" : "Phase 2",
                 run.weighting.c_str(), static_cast<long long>(run.seed), run.dir.c_str());
    if (finished(run)) {
      std::fprintf(stderr, "already trained and evaluated; skipping\n");
      continue;
    }
    if (process_group().is_main()) prepare_run_dir(run);
    process_group().barrier();
    if (train_run(run.config, run.dir, latest_checkpoint(run.dir).has_value())) return true;
  }
  return false;
}

// "step N/M, ETA …" from a training log's last step line ("evaluating" once it reached its last step).
std::string progress(const std::string& log) {
  const std::string line = last_line_starting(log, "step ");
  if (line.empty()) return "starting";
  const std::string step = line.substr(0, line.find(" |"));
  const size_t slash = step.find('/');
  if (slash != std::string::npos && step.substr(5, slash - 5) == step.substr(slash + 1)) return "evaluating";
  const size_t eta = line.find("ETA ");
  return step + (eta == std::string::npos ? "" : ", " + line.substr(eta));
}

std::string elapsed(std::chrono::steady_clock::time_point since) {
  const int s = static_cast<int>(std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count());
  char b[32];
  std::snprintf(b, sizeof b, "%dm%02ds", s / 60, s % 60);
  return b;
}

// The runs as `rhotrain train` child processes, `slots` at a time, each single-threaded with its output in
// OUT/logs/<run>.log; a progress line every 30 s. A stop signal reaches every child (each checkpoints and exits);
// a child that fails stops the others and is reported with the last error line of its log. True when stopped.
bool train_side_by_side(const std::vector<StudyRun>& runs, size_t slots, const std::string& out) {
  prepare_fits(runs.front().config);  // fitted once here rather than by every child at once
  const fs::path logs = fs::path(out) / "logs";
  fs::create_directories(logs);
  const std::string exe = this_executable();
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<size_t> pending;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (finished(runs[i])) std::fprintf(stderr, "%s: already trained and evaluated; skipping\n", runs[i].name.c_str());
    else pending.push_back(i);
  }
  std::map<pid_t, size_t> running;
  std::string failure;
  bool forwarded = false;
  auto log_of = [&](size_t i) { return (logs / (runs[i].name + ".log")).string(); };
  auto last_report = std::chrono::steady_clock::now();
  while (!pending.empty() || !running.empty()) {
    while (running.size() < slots && !pending.empty() && !stop_requested() && failure.empty()) {
      const size_t i = pending.front();
      pending.erase(pending.begin());
      const bool resume = prepare_run_dir(runs[i]);
      const std::string config_file = (logs / (runs[i].name + ".yaml")).string();
      write_text_file_atomic(config_file, runs[i].config.to_yaml());
      std::vector<std::string> argv = {exe, "train", "--config", config_file, "--run-dir", runs[i].dir};
      if (resume) argv.push_back("--resume");
      running[spawn_logged(argv, log_of(i))] = i;
      std::fprintf(stderr, "[%s] %s: %s %s weighting, seed %lld, 1 process × %lld thread → %s (log %s)\n", elapsed(t0).c_str(),
                   runs[i].name.c_str(), resume ? "resuming" : "training", runs[i].weighting.c_str(),
                   static_cast<long long>(runs[i].seed), static_cast<long long>(runs[i].config.get_int("train.threads")),
                   runs[i].dir.c_str(), log_of(i).c_str());
    }
    if ((stop_requested() || !failure.empty()) && !forwarded) {
      for (const auto& [pid, i] : running) kill(pid, SIGTERM);
      forwarded = true;
      pending.clear();  // runs not started stay for the next call; waiting for them would never end
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0 && running.count(pid)) {
      const size_t i = running[pid];
      running.erase(pid);
      const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (ok && finished(runs[i])) {
        const std::string score = last_line_starting(log_of(i), "  per-material mean");
        std::fprintf(stderr, "[%s] %s: done; %s NMAE %s\n", elapsed(t0).c_str(), runs[i].name.c_str(),
                     runs[i].config.get_list("eval.sets").front().c_str(), score.size() > 2 ? score.c_str() + 2 : "(see its log)");
      } else if (ok && stop_requested()) {
        std::fprintf(stderr, "[%s] %s: stopped (checkpoint written)\n", elapsed(t0).c_str(), runs[i].name.c_str());
      } else if (failure.empty()) {
        const std::string why = WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status)) : "signal " + std::to_string(WTERMSIG(status));
        const std::string line = last_line_starting(log_of(i), "rhotrain");
        failure = runs[i].name + " failed (" + why + ")" + (line.empty() ? "" : ": " + line) + "; log " + log_of(i);
      }
      continue;
    }
    if (pid < 0 && errno != EINTR && errno != ECHILD) throw Error(std::string("waiting for the runs: ") + std::strerror(errno));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (std::chrono::steady_clock::now() - last_report >= std::chrono::seconds(30) && !running.empty()) {
      last_report = std::chrono::steady_clock::now();
      std::string line = "[" + elapsed(t0) + "]";
      for (const auto& [child, i] : running) line += " " + runs[i].name + ": " + progress(log_of(i)) + ";";
      std::fprintf(stderr, "%s %zu waiting\n", line.c_str(), pending.size());
    }
  }
  if (!failure.empty()) throw Error(failure);
  return stop_requested();
}

}  // namespace

ExperimentOutcome run_experiment(const ExperimentRequest& request) {
  const RunConfig& config = request.config;
  const std::string& out = request.out;
  const RunSettings settings = run_settings(config);
  if (settings.eval.sets.empty()) throw Error("experiment: eval.sets is empty; the comparison needs an evaluated set");
  if (request.seeds < 1) throw UsageError("--seeds must be at least 1");
  if (request.parallel < 0) throw UsageError("--parallel must be 0 (one run per core) or more");
  // Under a launcher every rank trains and evaluates; rank 0 alone writes data, previews and reports.
  Distributed& group = process_group();
  const bool main = group.is_main();
  if (main) fs::create_directories(out);

  // Data: the built-in default set is generated on first use — that one only, so that a mistyped store is an error
  // rather than a study of synthetic data under the typo's name. A stop during generation leaves no file behind.
  install_stop_handlers();
  const auto& stores = settings.data.stores;
  if (main && stores.size() == 1 && !fs::exists(stores[0]) && stores[0].find_first_of("*?[") == std::string::npos) {
    const std::string built_in = RunConfig().get_list("data.store").front();  // the config schema's default store
    if (stores[0] != built_in)
      throw Error(stores[0] + ": no such store (only the built-in " + built_in +
                  " is generated when missing; `rhotrain synth -o " + stores[0] + "` makes a synthetic one there)");
    std::fprintf(stderr, "== data: %s is missing; generating the default synthetic dataset\n", stores[0].c_str());
    if (fs::path(stores[0]).has_parent_path()) fs::create_directories(fs::path(stores[0]).parent_path());
    try {
      write_synthetic_store(stores[0], SynthSpec{}, [](size_t done, size_t total) {
        if (stop_requested()) throw Error("stopped");
        if (done % 512 < 64 || done == total) std::fprintf(stderr, "synth: %zu/%zu\n", done, total);
      });
    } catch (const Error&) {
      if (!stop_requested()) throw;
      std::fprintf(stderr, "experiment stopped while generating %s (nothing written); run the same command again to start it\n",
                   stores[0].c_str());
      ExperimentOutcome stopped;
      stopped.stopped = true;
      return stopped;
    }
  }

  group.barrier();
  std::fprintf(stderr, "== Phase 0: patch budget per material under each weighting\n");
  if (main) {
    const MaterialStore store(expand_store_paths(stores), 0);
    const PatchBudget budget = patch_budget(store, settings.data.split_train, settings.data.plan);
    std::printf("%s", write_patch_budget_preview(budget, (fs::path(out) / "phase0-preview.svg").string(), false).c_str());
    std::fflush(stdout);
  }

  // Phases 1 and 2: K seeds of each arm, side by side as single-threaded processes where there are cores for them.
  const size_t k = static_cast<size_t>(request.seeds);
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  const size_t slots = group.world() > 1 ? 1 : request.parallel > 0 ? static_cast<size_t>(request.parallel) : std::min(2 * k, cores);
  const std::vector<StudyRun> runs = study_runs(config, out, request.seeds, slots > 1);
  std::fprintf(stderr, "== Phases 1 and 2: %s per arm, %s; %s\n", count_of(k, "training seed").c_str(), count_of(runs.size(), "run").c_str(),
               slots > 1 ? (std::to_string(slots) + " at a time, each a single-threaded process").c_str()
                         : "one after another in this process");
  ExperimentOutcome outcome;
  if (slots > 1 ? train_side_by_side(runs, slots, out) : train_in_turn(runs)) {
    std::fprintf(stderr, "experiment stopped; run the same command again to continue where it left off\n");
    outcome.stopped = true;
    return outcome;
  }

  outcome.report = (fs::path(out) / "report.md").string();
  if (main) {
    ComparisonRequest comparison;
    for (const auto& run : runs) comparison.runs.push_back(run.dir);
    comparison.split = settings.eval.sets.front();
    comparison.out = outcome.report;
    outcome.headline = write_comparison(comparison);
  }
  if (!request.fixtures.empty() && fs::is_directory(request.fixtures)) {
    const auto table = fixtures_table(runs, k, request.fixtures, out);
    if (!table) {
      std::fprintf(stderr, "experiment stopped while scoring the fixtures: %s is written without their table; run the same command "
                   "again to add it\n", outcome.report.c_str());
      outcome.stopped = true;
      return outcome;
    }
    if (main) write_text_file_atomic(outcome.report, read_text_file(outcome.report) + *table);
  }
  return outcome;
}

}  // namespace rhotrain
