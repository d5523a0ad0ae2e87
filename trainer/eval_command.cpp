#include "trainer/eval_command.h"

#include <filesystem>
#include <iostream>

#include "materials/error.h"
#include "materials/files.h"
#include "trainer/checkpoint.h"
#include "trainer/cli.h"
#include "trainer/evaluator.h"
#include "trainer/train.h"

namespace rhotrain {
namespace {

namespace fs = std::filesystem;

int eval_oracle(const cxxopts::ParseResult& r, const EvalSettings& base) {
  MaterialStore store(expand_store_paths(required<std::vector<std::string>>(r, "store")), 0);
  const V3Tokenizer tok(r["patch"].as<int>(), LmqCodec::load(required<std::string>(r, "codec")), r["max-len"].as<int>());
  EvalSettings s = base;
  s.mode = "oracle";
  SkipReport skipped;
  const EvalRecord rec = evaluate_set(store, r["set"].as<std::string>(), tok, nullptr, s, torch::kCPU, 0, skipped);
  skipped.print(std::cerr, "eval");
  print_eval_table(std::cerr, rec);
  if (r.count("out")) write_text_file_atomic(r["out"].as<std::string>(), eval_record_json(rec));
  size_t mismatched = 0;
  for (const auto& m : rec.materials) mismatched += m.nmae != m.floor_nmae;
  if (mismatched)
    throw Error("oracle NMAE differs from the codec floor for " + std::to_string(mismatched) + " of " +
                std::to_string(rec.materials.size()) + " materials: tiling or stitching is broken");
  std::printf("oracle check passed: NMAE equals the codec floor exactly for all %zu materials (per-mat-mean %.4f %%)\n",
              rec.materials.size(), 100 * rec.aggregates.per_mat_mean.value);
  return 0;
}

}  // namespace

int cmd_eval(int argc, char** argv) {
  cxxopts::Options opts("rhotrain eval", "Evaluate a checkpoint (or the oracle) on a set: NMAE per material and aggregates.");
  opts.add_options()
      ("run", "run directory", cxxopts::value<std::string>())
      ("step", "checkpoint step, or 'last'", cxxopts::value<std::string>()->default_value("last"))
      ("set", "split to evaluate", cxxopts::value<std::string>()->default_value("val_200"))
      ("store", "store file(s); default: the run's", cxxopts::value<std::vector<std::string>>())
      ("mode", "maskgit:K | free_running | teacher_forced; default: the run's eval.mode", cxxopts::value<std::string>())
      ("decode", "median | mean | argmax; default: the run's eval.decode", cxxopts::value<std::string>())
      ("out", "JSON output (default with the run's own store: RUN/eval/SET/step-N.json)", cxxopts::value<std::string>())
      ("oracle", "route the true density tokens through the evaluation path (needs --store and --codec)")
      ("codec", "codec file (oracle)", cxxopts::value<std::string>())
      ("patch", "patch edge P (oracle)", cxxopts::value<int>()->default_value("6"))
      ("max-len", "maximum sequence length (oracle)", cxxopts::value<int>()->default_value("8192"));
  auto r = parse_command(opts, argc, argv);
  EvalSettings settings;
  if (r.count("oracle")) return eval_oracle(r, settings);

  const std::string run = required<std::string>(r, "run");
  const std::string step_arg = r["step"].as<std::string>();
  std::string checkpoint;
  if (step_arg == "last") {
    const auto last = latest_checkpoint(run);
    if (!last) throw Error(run + ": no complete checkpoint");
    checkpoint = *last;
  } else {
    checkpoint = checkpoint_at(run, std::stoll(step_arg));
  }
  const RunConfig config = RunConfig::from_resolved_file((fs::path(checkpoint) / "config.yaml").string());
  const LmqCodec codec = LmqCodec::load((fs::path(checkpoint) / "codec.h5").string());
  const TrainState state = read_train_state(checkpoint);
  DensityTransformer model(model_config_for(config, codec.bins()));
  load_model(checkpoint, model);
  const bool own_store = !r.count("store");
  MaterialStore store(expand_store_paths(own_store ? config.get_list("data.store") : r["store"].as<std::vector<std::string>>()), 0);
  const V3Tokenizer tok(static_cast<int>(config.get_int("data.patch")), codec, static_cast<int>(config.get_int("data.max_len")));
  settings.mode = r.count("mode") ? r["mode"].as<std::string>() : config.get_string("eval.mode");
  settings.decode = r.count("decode") ? r["decode"].as<std::string>() : config.get_string("eval.decode");
  settings.batch = static_cast<int>(config.get_int("eval.batch_size"));
  settings.electrons_from = parse_electrons_from(config.get_string("data.electrons_from"));
  configure_threads(config.get_int("train.threads"));

  SkipReport skipped;
  const std::string set = r["set"].as<std::string>();
  const EvalRecord rec = evaluate_set(store, set, tok, &model, settings, torch::kCPU, state.step, skipped);
  skipped.print(std::cerr, "eval");
  print_eval_table(std::cout, rec);
  std::string out = r.count("out") ? r["out"].as<std::string>() : "";
  if (out.empty() && own_store) out = (fs::path(run) / "eval" / set / ("step-" + std::to_string(state.step) + ".json")).string();
  if (!out.empty()) {
    if (fs::path(out).has_parent_path()) fs::create_directories(fs::path(out).parent_path());
    write_text_file_atomic(out, eval_record_json(rec));
    std::cout << "wrote " << out << "\n";
  }
  return 0;
}

}  // namespace rhotrain
