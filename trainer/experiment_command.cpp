#include "trainer/experiment_command.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "materials/chgcar.h"
#include "materials/cube.h"
#include "materials/elements.h"
#include "materials/error.h"
#include "materials/files.h"
#include "materials/synthetic.h"
#include "trainer/checkpoint.h"
#include "trainer/cli.h"
#include "trainer/compare_command.h"
#include "trainer/evaluator.h"
#include "trainer/json_file.h"
#include "trainer/sampler_commands.h"
#include "trainer/train.h"

namespace rhotrain {
namespace {

namespace fs = std::filesystem;

// Runs another subcommand with the given arguments (shares its code, not a copy of it).
int run_command(int (*command)(int, char**), std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return command(static_cast<int>(argv.size()), argv.data());
}

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

}  // namespace

int cmd_experiment(int argc, char** argv) {
  cxxopts::Options opts("rhotrain experiment",
                        "The weighting study end to end: data, Phase 0, Phase 1 (uniform), Phase 2 (electrons), report.");
  opts.add_options()
      ("config", "YAML run config shared by both phases", cxxopts::value<std::string>()->default_value("configs/experiment.yaml"))
      ("out", "output folder", cxxopts::value<std::string>()->default_value("runs/experiment"))
      ("steps", "shorthand for train.steps", cxxopts::value<int64_t>())
      ("set", "override a key: section.key=value (repeatable)", cxxopts::value<std::vector<std::string>>())
      ("fixtures", "real-DFT fixtures to score both models on ('' to skip)",
       cxxopts::value<std::string>()->default_value("../shared/fixtures"));
  auto r = parse_command(opts, argc, argv);
  const auto t0 = std::chrono::steady_clock::now();
  RunConfig config;
  const std::string config_path = r["config"].as<std::string>();
  config.merge_file(config_path);
  if (r.count("steps")) config.set("train.steps", std::to_string(r["steps"].as<int64_t>()), "--steps");
  if (r.count("set"))
    for (const auto& s : r["set"].as<std::vector<std::string>>()) config.set(s, "--set");
  const std::string out = r["out"].as<std::string>();
  fs::create_directories(out);

  // Data: the built-in default set is generated on first use.
  const auto stores = config.get_list("data.store");
  if (stores.size() == 1 && !fs::exists(stores[0]) && stores[0].find_first_of("*?[") == std::string::npos) {
    std::fprintf(stderr, "== data: %s is missing; generating the default synthetic dataset\n", stores[0].c_str());
    if (fs::path(stores[0]).has_parent_path()) fs::create_directories(fs::path(stores[0]).parent_path());
    write_synthetic_store(stores[0], SynthSpec{}, [](size_t done, size_t total) {
      if (done % 512 < 64 || done == total) std::fprintf(stderr, "synth: %zu/%zu\n", done, total);
    });
  }

  std::fprintf(stderr, "== Phase 0: patch budget per material under each weighting\n");
  std::vector<std::string> preview = {"rhotrain preview", "--split", config.get_string("data.split_train"),
                                      "--patches-per-mat", config.get_string("data.patches_per_mat"), "--electrons-from",
                                      config.get_string("data.electrons_from"), "--plot", (fs::path(out) / "phase0-preview.svg").string()};
  for (const auto& s : stores) preview.insert(preview.end(), {"--store", s});
  run_command(cmd_preview, preview);

  std::vector<std::string> run_dirs;
  for (const char* weighting : {"uniform", "electrons"}) {
    RunConfig phase = config;
    phase.set("data.weighting", weighting, "experiment");
    const std::string dir = (fs::path(out) / (std::string(weighting) == "uniform" ? "phase1_uniform" : "phase2_electrons")).string();
    run_dirs.push_back(dir);
    std::fprintf(stderr, "== Phase %d: %s weighting → %s\n", run_dirs.size() == 1 ? 1 : 2, weighting, dir.c_str());
    const auto last = latest_checkpoint(dir);
    if (last && read_train_state(*last).step >= phase.get_int("train.steps")) {
      std::fprintf(stderr, "already trained (%s); skipping\n", last->c_str());
      continue;
    }
    train_run(phase, dir, last.has_value(), "--config " + config_path);
    if (stop_requested()) {
      std::fprintf(stderr, "experiment stopped; run the same command again to continue where it left off\n");
      return 0;
    }
  }

  const std::string report = (fs::path(out) / "report.md").string();
  const std::string headline = write_comparison(run_dirs[0], run_dirs[1], "last", config.get_list("eval.sets").front(), report, false);

  // Both models on real DFT densities: a synthetic-trained model is not expected to transfer.
  const std::string fixtures = r["fixtures"].as<std::string>();
  if (!fixtures.empty() && fs::is_directory(fixtures)) {
    MaterialStore fx({fixture_store(fixtures, out)}, 0);
    std::string table = "\n## Real DFT densities (shared/fixtures, Quantum ESPRESSO)\n\nA model trained on synthetic crystals is "
                        "not expected to transfer to real valence densities; these numbers show how far it does not.\n\n"
                        "| material | n_e | uniform NMAE % | electrons NMAE % | codec floor % | baseline % |\n|---|---|---|---|---|---|\n";
    std::vector<EvalRecord> recs;
    for (const auto& dir : run_dirs) {
      const std::string ckpt = *latest_checkpoint(dir);
      const RunConfig c = RunConfig::from_resolved_file((fs::path(ckpt) / "config.yaml").string());
      const LmqCodec codec = LmqCodec::load((fs::path(ckpt) / "codec.h5").string());
      DensityTransformer model(model_config_for(c, codec.bins()));
      load_model(ckpt, model);
      const V3Tokenizer tok(static_cast<int>(c.get_int("data.patch")), codec, static_cast<int>(c.get_int("data.max_len")));
      EvalSettings s;
      s.mode = c.get_string("eval.mode");
      s.decode = c.get_string("eval.decode");
      s.electrons_from = parse_electrons_from(c.get_string("data.electrons_from"));
      SkipReport skipped;
      recs.push_back(evaluate_set(fx, "fixtures", tok, &model, s, torch::kCPU, read_train_state(ckpt).step, skipped));
      write_text_file_atomic((fs::path(dir) / "eval" / "fixtures.json").string(), eval_record_json(recs.back()));
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
    table += row;
    write_text_file_atomic(report, read_text_file(report) + table);
  }
  const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 60;
  std::printf("experiment finished in %.1f min\nreport: %s\n%s", minutes, report.c_str(), headline.c_str());
  return 0;
}

}  // namespace rhotrain
