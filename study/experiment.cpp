#include "study/experiment.h"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/elements.h"
#include "common/error.h"
#include "common/files.h"
#include "common/json_file.h"
#include "materials/chgcar.h"
#include "materials/cube.h"
#include "materials/store.h"
#include "materials/synthetic.h"
#include "sampler/patch_budget.h"
#include "study/comparison.h"
#include "trainer/checkpoint.h"
#include "trainer/distributed.h"
#include "trainer/evaluator.h"
#include "trainer/settings.h"
#include "trainer/train.h"

namespace rhotrain {
namespace {

namespace fs = std::filesystem;

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

// Both models on real DFT densities: a synthetic-trained model is not expected to transfer.
std::string fixtures_table(const std::vector<std::string>& run_dirs, const std::string& fixtures, const std::string& out) {
  Distributed& group = process_group();
  const std::string store = (fs::path(out) / "fixtures.h5").string();
  if (group.is_main()) fixture_store(fixtures, out);
  group.barrier();
  CheckpointEvalRequest request;
  request.stores = {store};
  request.set = "fixtures";
  std::string table = "\n## Real DFT densities (" + fixtures + ", Quantum ESPRESSO)\n\nA model trained on synthetic crystals is "
                      "not expected to transfer to real valence densities; these numbers show how far it does not.\n\n"
                      "| material | n_e | uniform NMAE % | electrons NMAE % | codec floor % | baseline % |\n|---|---|---|---|---|---|\n";
  std::vector<EvalRecord> recs;
  for (const auto& dir : run_dirs) {
    SkipReport skipped;
    request.run_dir = dir;
    recs.push_back(evaluate_checkpoint(request, skipped));
    if (!group.is_main()) continue;
    const std::string record_dir = eval_record_dir(dir, request.set, request.stores);
    fs::create_directories(record_dir);
    write_text_file_atomic((fs::path(record_dir) / ("step-" + std::to_string(recs.back().step) + ".json")).string(),
                           eval_record_json(recs.back()));
  }
  char row[256];
  for (size_t i = 0; i < recs[0].materials.size(); ++i) {
    const auto &a = recs[0].materials[i], &b = recs[1].materials[i];
    std::snprintf(row, sizeof row, "| %s | %.0f | %.2f | %.2f | %.2f | %.2f |\n", a.id.c_str(), a.n_e, 100 * a.nmae,
                  100 * b.nmae, 100 * a.floor_nmae, 100 * a.baseline_nmae);
    table += row;
  }
  std::snprintf(row, sizeof row, "| **per-material mean** | | %.2f | %.2f | %.2f | %.2f |\n", 100 * recs[0].aggregates.per_mat_mean.value,
                100 * recs[1].aggregates.per_mat_mean.value, 100 * recs[0].aggregates.floor_per_mat_mean,
                100 * recs[0].aggregates.baseline_per_mat_mean);
  return table + row;
}

}  // namespace

ExperimentOutcome run_experiment(const RunConfig& config, const std::string& out,
                                 const std::string& fixtures) {
  const RunSettings settings = run_settings(config);
  if (settings.eval.sets.empty()) throw Error("experiment: eval.sets is empty; the comparison needs an evaluated set");
  // Under a launcher every rank trains and evaluates; rank 0 alone writes data, previews and reports.
  Distributed& group = process_group();
  const bool main = group.is_main();
  if (main) fs::create_directories(out);

  // Data: the built-in default set is generated on first use.
  const auto& stores = settings.data.stores;
  if (main && stores.size() == 1 && !fs::exists(stores[0]) && stores[0].find_first_of("*?[") == std::string::npos) {
    std::fprintf(stderr, "== data: %s is missing; generating the default synthetic dataset\n", stores[0].c_str());
    if (fs::path(stores[0]).has_parent_path()) fs::create_directories(fs::path(stores[0]).parent_path());
    write_synthetic_store(stores[0], SynthSpec{}, [](size_t done, size_t total) {
      if (done % 512 < 64 || done == total) std::fprintf(stderr, "synth: %zu/%zu\n", done, total);
    });
  }

  group.barrier();
  std::fprintf(stderr, "== Phase 0: patch budget per material under each weighting\n");
  if (main) {
    const MaterialStore store(expand_store_paths(stores), 0);
    const PatchBudget budget = patch_budget(store, settings.data.split_train, settings.data.plan);
    std::printf("%s", write_patch_budget_preview(budget, (fs::path(out) / "phase0-preview.svg").string(), false).c_str());
    std::fflush(stdout);
  }

  ExperimentOutcome outcome;
  std::vector<std::string> run_dirs;
  for (const char* weighting : {"uniform", "electrons"}) {
    RunConfig phase = config;
    phase.set("data.weighting", weighting, "experiment");
    const std::string dir = (fs::path(out) / (std::string(weighting) == "uniform" ? "phase1_uniform" : "phase2_electrons")).string();
    run_dirs.push_back(dir);
    std::fprintf(stderr, "== Phase %d: %s weighting → %s\n", run_dirs.size() == 1 ? 1 : 2, weighting, dir.c_str());
    const auto last = latest_checkpoint(dir);
    if (last && read_train_state(*last).step >= settings.train.steps) {
      std::fprintf(stderr, "already trained (%s); skipping\n", last->c_str());
      continue;
    }
    if (train_run(phase, dir, last.has_value())) {
      std::fprintf(stderr, "experiment stopped; run the same command again to continue where it left off\n");
      outcome.stopped = true;
      return outcome;
    }
  }

  outcome.report = (fs::path(out) / "report.md").string();
  if (main) {
    ComparisonRequest comparison;
    comparison.run_a = run_dirs[0], comparison.run_b = run_dirs[1];
    comparison.split = settings.eval.sets.front();
    comparison.out = outcome.report;
    outcome.headline = write_comparison(comparison);
  }
  if (!fixtures.empty() && fs::is_directory(fixtures)) {
    const std::string table = fixtures_table(run_dirs, fixtures, out);
    if (main) write_text_file_atomic(outcome.report, read_text_file(outcome.report) + table);
  }
  return outcome;
}

}  // namespace rhotrain
