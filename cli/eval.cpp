// rhotrain eval: a saved checkpoint on any split of any store, as the in-loop evaluation scores it, recorded where
// compare finds it; or, with --oracle, the true density tokens routed through the same tiling / decoding / stitching
// path (it must equal the floor).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "common/files.h"
#include "materials/density_file.h"
#include "trainer/distributed.h"
#include "trainer/evaluator.h"
#include "trainer/events.h"
#include "trainer/run_evaluation.h"

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

// The in-loop record is step-N.json; one made with another mode, decoder or stride must not replace it, so it names
// them: "" for the run's own settings, else ".<mode>.<decode>[.stride-N]" (or ".stride-N").
std::string record_variant(const CheckpointEvalRequest& request) {
  std::string variant;
  if (!request.mode.empty() || !request.decode.empty()) {
    std::string mode = request.mode.empty() ? "run-mode" : request.mode;
    std::replace(mode.begin(), mode.end(), ':', '-');
    variant += "." + mode + "." + (request.decode.empty() ? "run-decode" : request.decode);
  }
  if (request.stride >= 0) variant += ".stride-" + std::to_string(request.stride);
  return variant;
}

std::string record_name(int64_t step, const CheckpointEvalRequest& request) {
  return "step-" + std::to_string(step) + record_variant(request) + ".json";
}

// One material's predicted grid in the folder: <id>.h5 (a store of that one material; a glob of them reads as one
// store), <id>.CHGCAR or <id>.cube. Each rank writes the materials it scored.
void write_prediction(const Material& truth, const std::vector<float>& predicted, const std::string& folder,
                      const std::string& format) {
  Material m = truth;
  m.density = predicted;
  compute_electron_counts(m);
  m.source = "rhotrain eval prediction of " + truth.id;
  const fs::path base = fs::path(folder) / m.id;
  if (format == "h5") {
    const std::string path = base.string() + ".h5";
    fs::remove(path);
    update_store(path, [&](StoreWriter& w) { w.write(m); });
  } else {
    write_density_file(m, base.string() + (format == "cube" ? ".cube" : ".CHGCAR"),
                       format == "cube" ? DensityFormat::cube : DensityFormat::chgcar);
  }
}

void eval_oracle(const cxxopts::ParseResult& r, const std::string& split) {
  const MaterialStore store(expand_store_paths(required<std::vector<std::string>>(r, "store")), 0);
  const LmqCodec codec = LmqCodec::load(required<std::string>(r, "codec"));
  // With a density codec, --atoms only adds the atomic baseline beside the floor.
  const DensityCoding coding{V3Tokenizer(r["patch"].as<int>(), codec, r["max-len"].as<int>()), atoms_for_codec(r, codec),
                             codec.target == "residual"};
  SkipReport skipped;
  const EvalRecord rec = evaluate_oracle(store, split, coding, r.count("stride") ? r["stride"].as<int>() : 0, skipped);
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
      ("stride", "overlapping patches every N voxels, averaged (0: one tile per voxel); default: the run's eval.stride",
       cxxopts::value<int>())
      ("o,out", "also write the JSON record here (it always goes to RUN/eval/SPLIT[@STORE]/step-N.json)",
       cxxopts::value<std::string>())
      ("write-predictions", "write each material's predicted grid into this folder, with a copy of the record",
       cxxopts::value<std::string>())
      ("prediction-format", "h5 (a one-material store each) | chgcar | cube", cxxopts::value<std::string>()->default_value("h5"))
      ("oracle", "route the true density tokens through the evaluation path (needs --store and --codec)")
      ("codec", "codec file (oracle)", cxxopts::value<std::string>())
      ("atoms", "atomic-density fit (oracle: the atomic baseline beside it; a residual codec needs it)", cxxopts::value<std::string>())
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
  if (r.count("stride")) {
    request.stride = r["stride"].as<int>();
    if (request.stride < 0) throw UsageError("--stride must be 0 or more");
  }
  const std::string predictions = r.count("write-predictions") ? r["write-predictions"].as<std::string>() : "";
  const std::string format = choice("prediction-format", r["prediction-format"].as<std::string>(), {"h5", "chgcar", "cube"});
  if (!predictions.empty()) {
    fs::create_directories(predictions);
    request.on_prediction = [&](const Material& truth, const std::vector<float>& predicted) {
      write_prediction(truth, predicted, predictions, format);
    };
  }
  SkipReport skipped;
  const EvalRecord rec = evaluate_checkpoint(request, skipped);
  skipped.print(std::cerr, "eval");
  print_eval_table(std::cout, rec);
  const std::string record =
      (fs::path(eval_record_dir(request.run_dir, split, request.stores)) / record_name(rec.step, request)).string();
  // Its scalars go into the run's TensorBoard log as an event file of their own (a training that resumes cuts its own
  // file back to its checkpoint, and one may be running): TensorBoard and `rhotrain logs` merge the files of a folder.
  if (main) {
    const std::string variant = record_variant(request);
    const std::string prefix = "eval/" + fs::path(eval_record_dir(request.run_dir, split, request.stores)).filename().string() +
                               (variant.empty() ? "" : "/" + variant.substr(1)) + "/";
    EventWriter events(request.run_dir, "", 0, ".eval");
    log_eval_scalars(events, rec, prefix);
    events.flush();
    std::cout << "logged " << prefix << "* at step " << rec.step << " to " << request.run_dir << "/" << events.file_name() << "\n";
  }
  const std::string record_copy = predictions.empty() ? "" : (fs::path(predictions) / record_name(rec.step, request)).string();
  for (const auto& out : {record, r.count("out") ? r["out"].as<std::string>() : std::string(), record_copy}) {
    if (out.empty() || !main) continue;
    write_record(out, rec);
    std::cout << "wrote " << out << "\n";
  }
  return 0;
}

}  // namespace rhotrain
