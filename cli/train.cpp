// rhotrain train: one arm of the study, from a YAML config overlaid by the command line.
#include <filesystem>

#include "cli/args.h"
#include "cli/commands.h"
#include "trainer/train.h"

namespace rhotrain {

int cmd_train(int argc, char** argv) {
  cxxopts::Options opts("rhotrain train", "Train a density transformer (one run of the weighting study).");
  opts.add_options()
      ("config", "YAML run config", cxxopts::value<std::string>())
      ("run-dir", "run directory (default runs/<config name>)", cxxopts::value<std::string>());
  add_config_overrides(opts, true);
  opts.add_options()("resume", "continue from the newest complete checkpoint in the run directory");
  auto r = parse_command(opts, argc, argv);
  const std::string config_path = required<std::string>(r, "config");
  const RunConfig config = run_config_from(config_path, r);
  const std::string run_dir =
      r.count("run-dir") ? r["run-dir"].as<std::string>() : "runs/" + std::filesystem::path(config_path).stem().string();
  train_run(config, run_dir, r.count("resume") > 0, "--config " + config_path);
  return 0;
}

}  // namespace rhotrain
