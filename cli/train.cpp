// rhotrain train: one arm of the study, from a YAML config overlaid by the command line.
#include <filesystem>

#include "cli/args.h"
#include "cli/commands.h"
#include "trainer/distributed.h"
#include "trainer/train.h"

namespace rhotrain {

int cmd_train(int argc, char** argv) {
  cxxopts::Options opts("rhotrain train", "Train a density transformer (one run of the weighting study).");
  opts.add_options()
      ("config", "YAML run config (with --resume: default, the run's own)", cxxopts::value<std::string>())
      ("run-dir", "run directory (default runs/<config name>)", cxxopts::value<std::string>());
  add_config_overrides(opts, true);
  opts.add_options()
      ("resume", "continue from the newest complete checkpoint in the run directory")
      ("verbose", "under a launcher, let every rank print (only rank 0 does otherwise)");
  auto r = parse_command(opts, argc, argv);
  const bool resume = r.count("resume") > 0;
  if (!r.count("config") && !(resume && r.count("run-dir")))
    throw UsageError("--config is required (or --resume --run-dir RUN, which continues with the run's own config)");
  const std::string run_dir = r.count("run-dir") ? r["run-dir"].as<std::string>()
                                                 : "runs/" + std::filesystem::path(r["config"].as<std::string>()).stem().string();
  const RunConfig config = r.count("config") ? run_config_from(r["config"].as<std::string>(), r)
                                             : with_overrides(saved_run_config(run_dir), r);
  join_process_group(run_settings(config).train, r.count("verbose") > 0);
  train_run(config, run_dir, resume);
  return 0;
}

}  // namespace rhotrain
