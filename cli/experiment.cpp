// rhotrain experiment: the whole weighting study in one command (the main job).
#include <chrono>
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "study/experiment.h"
#include "trainer/distributed.h"

namespace rhotrain {

int cmd_experiment(int argc, char** argv) {
  cxxopts::Options opts("rhotrain experiment",
                        "The weighting study end to end: data, Phase 0, Phase 1 (uniform) and Phase 2 (electrons) with K seeds each, report.");
  opts.add_options()
      ("config", "YAML run config shared by both phases", cxxopts::value<std::string>()->default_value("configs/experiment.yaml"))
      ("o,out", "output folder", cxxopts::value<std::string>()->default_value("runs/experiment"));
  add_config_overrides(opts, false);
  opts.add_options()
      ("fixtures", "real-DFT fixtures to score both models on ('' to skip)",
       cxxopts::value<std::string>()->default_value("data/fixtures"))
      ("seeds", "K: training seeds per arm (train.seed, train.seed + 1, ...); the report's intervals include their spread",
       cxxopts::value<int>()->default_value("2"))
      ("parallel", "runs trained at once, each a single-threaded process (0: one per core; 1: one after another in this process)",
       cxxopts::value<int>()->default_value("0"))
      ("verbose", "under a launcher, let every rank print (only rank 0 does otherwise)");
  auto r = parse_command(opts, argc, argv);
  const auto t0 = std::chrono::steady_clock::now();
  ExperimentRequest request;
  request.config = run_config_from(r["config"].as<std::string>(), r);
  request.out = r["out"].as<std::string>();
  request.fixtures = r["fixtures"].as<std::string>();
  request.seeds = r["seeds"].as<int>();
  request.parallel = r["parallel"].as<int>();
  join_process_group(run_settings(request.config).train, r.count("verbose") > 0);
  const ExperimentOutcome outcome = run_experiment(request);
  if (outcome.stopped) return 0;
  const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 60;
  std::printf("experiment finished in %.1f min\nreport: %s\n%s", minutes, outcome.report.c_str(), outcome.headline.c_str());
  return 0;
}

}  // namespace rhotrain
