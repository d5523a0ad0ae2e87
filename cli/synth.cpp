// rhotrain synth: the built-in default dataset — deterministic synthetic crystals with train / val / val_200 splits.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/args.h"
#include "cli/commands.h"
#include "common/text.h"
#include "materials/splits.h"
#include "materials/store_summary.h"
#include "materials/synthetic.h"

namespace rhotrain {

int cmd_synth(int argc, char** argv) {
  cxxopts::Options opts("rhotrain synth", "Generate the deterministic synthetic dataset (the built-in default data).");
  opts.add_options()
      ("o,out", "store file to write", cxxopts::value<std::string>())
      ("n-train", "training materials", cxxopts::value<size_t>()->default_value("2000"))
      ("n-val", "validation materials", cxxopts::value<size_t>()->default_value("240"))
      ("seed", "dataset seed", cxxopts::value<uint64_t>()->default_value("0"))
      ("threads", "generator threads", cxxopts::value<int>()->default_value("2"));
  auto r = parse_command(opts, argc, argv);
  SynthSpec spec;
  spec.n_train = r["n-train"].as<size_t>();
  spec.n_val = r["n-val"].as<size_t>();
  spec.seed = r["seed"].as<uint64_t>();
  spec.threads = r["threads"].as<int>();
  const std::string out = required<std::string>(r, "out");
  if (std::filesystem::path(out).has_parent_path()) std::filesystem::create_directories(std::filesystem::path(out).parent_path());

  const auto t0 = std::chrono::steady_clock::now();
  size_t next_report = 0;
  write_synthetic_store(out, spec, [&](size_t done, size_t total) {
    if (done < next_report && done != total) return;
    next_report = done + total / 10;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "synth: %zu/%zu materials (%.1f s)\n", done, total, s);
  });
  if (spec.n_val < kFixedEvalSize)
    std::cout << "note: val has only " << count_of(spec.n_val, "material") << ", so val_200 holds all of them\n";
  std::cout << format_store_summary(summarize_store(MaterialStore({out}, 0)));
  return 0;
}

}  // namespace rhotrain
