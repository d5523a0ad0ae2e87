// rhotrain eval: a saved checkpoint on any split of any store, as the in-loop evaluation scores it, recorded where
// compare finds it; or, with --oracle, the true density tokens routed through the same tiling / decoding / stitching
// path (it must equal the floor).
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "common/files.h"
#include "trainer/distributed.h"
#include "trainer/evaluator.h"

namespace rhotrain {
namespace {

namespace fs = std::filesystem;

void write_record(const std::string& out, const EvalRecord& rec) {
  if (fs::path(out).has_parent_path()) fs::create_directories(fs::path(out).parent_path());
  write_text_file_atomic(out, eval_record_json(rec));
}

// The evaluation modes a command line may ask for: maskgit:K (K ≥ 1), free_running, teacher_forced.
std::string checked_mode(const std::string& mode) {
  const bool maskgit = mode.rfind("maskgit:", 0) == 0 && mode.size() > 8 &&
                       mode.find_first_not_of("0123456789", 8) == std::string::npos && std::stoi(mode.substr(8)) >= 1;
  if (!maskgit && mode != "free_running" && mode != "teacher_forced")
    throw UsageError("--mode must be maskgit:K (K ≥ 1), free_running or teacher_forced, not '" + mode + "'");
  return mode;
}

void eval_oracle(const cxxopts::ParseResult& r, const std::string& split) {
  const MaterialStore store(expand_store_paths(required<std::vector<std::string>>(r, "store")), 0);
  const V3Tokenizer tok(r["patch"].as<int>(), LmqCodec::load(required<std::string>(r, "codec")), r["max-len"].as<int>());
  SkipReport skipped;
  const EvalRecord rec = evaluate_oracle(store, split, tok, skipped);
  skipped.print(std::cerr, "eval");
  print_eval_table(std::cerr, rec);
  if (r.count("out")) write_record(r["out"].as<std::string>(), rec);
  check_oracle_equals_floor(rec);
  std::printf("oracle check passed: NMAE equals the codec floor exactly for all %zu materials (per-mat-mean %.4f %%)\n",
              rec.materials.size(), 100 * rec.aggregates.per_mat_mean.value);
}

}  // namespace

int cmd_eval(int argc, char** argv) {
  cxxopts::Options opts("rhotrain eval", "Evaluate a checkpoint (or the oracle) on a split: NMAE per material and aggregates.");
  opts.add_options()
      ("run", "run directory", cxxopts::value<std::string>())
      ("step", "checkpoint step, or 'last'", cxxopts::value<std::string>()->default_value("last"))
      ("split", "split to evaluate", cxxopts::value<std::string>()->default_value("val_200"))
      ("store", "store file(s); default: the run's", cxxopts::value<std::vector<std::string>>())
      ("mode", "maskgit:K | free_running | teacher_forced; default: the run's eval.mode", cxxopts::value<std::string>())
      ("decode", "median | continuous | mean | argmax; default: the run's eval.decode", cxxopts::value<std::string>())
      ("o,out", "also write the JSON record here (it always goes to RUN/eval/SPLIT[@STORE]/step-N.json)",
       cxxopts::value<std::string>())
      ("oracle", "route the true density tokens through the evaluation path (needs --store and --codec)")
      ("codec", "codec file (oracle)", cxxopts::value<std::string>())
      ("patch", "patch edge P (oracle)", cxxopts::value<int>()->default_value("6"))
      ("max-len", "maximum sequence length (oracle)", cxxopts::value<int>()->default_value("8192"))
      ("verbose", "under a launcher, let every rank print (only rank 0 does otherwise)");
  opts.add_options(kAliases)("set", "", cxxopts::value<std::string>());
  auto r = parse_command(opts, argc, argv);
  const std::string split = given<std::string>(r, "split", "set").value();
  if (r.count("oracle")) {
    eval_oracle(r, split);
    return 0;
  }
  // Under a launcher the ranks share the materials out (on the CPU, so Gloo) and rank 0 writes the record.
  const bool main = join_process_group("gloo", false, 600, r.count("verbose") > 0).is_main();
  CheckpointEvalRequest request;
  request.run_dir = required<std::string>(r, "run");
  request.step = r["step"].as<std::string>();
  if (r.count("store")) request.stores = r["store"].as<std::vector<std::string>>();
  request.set = split;
  if (r.count("mode")) request.mode = checked_mode(r["mode"].as<std::string>());
  if (r.count("decode")) request.decode = choice("decode", r["decode"].as<std::string>(), {"median", "continuous", "mean", "argmax"});
  SkipReport skipped;
  const EvalRecord rec = evaluate_checkpoint(request, skipped);
  skipped.print(std::cerr, "eval");
  print_eval_table(std::cout, rec);
  const std::string record =
      (fs::path(eval_record_dir(request.run_dir, split, request.stores)) / ("step-" + std::to_string(rec.step) + ".json")).string();
  for (const auto& out : {record, r.count("out") ? r["out"].as<std::string>() : std::string()}) {
    if (out.empty() || !main) continue;
    write_record(out, rec);
    std::cout << "wrote " << out << "\n";
  }
  return 0;
}

}  // namespace rhotrain
