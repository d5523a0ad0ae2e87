// rhotrain fit-atoms: the atomic-density baseline (per-element radial profiles, least squares on a split), the
// electrons each profile holds, and the baseline's NMAE on another split.
#include <chrono>
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "common/cpus.h"
#include "common/elements.h"
#include "common/quantiles.h"
#include "common/text.h"
#include "materials/atomic_density.h"
#include "metrics/nmae.h"

namespace rhotrain {

int cmd_fit_atoms(int argc, char** argv) {
  cxxopts::Options opts("rhotrain fit-atoms",
                        "Fit the atomic-density baseline (a sum of Gaussians per element) and report its NMAE.");
  opts.add_options()
      ("store", "store file(s) or glob(s)", cxxopts::value<std::vector<std::string>>())
      ("split", "split to fit on", cxxopts::value<std::string>()->default_value("train"))
      ("score-split", "split to score the baseline on", cxxopts::value<std::string>()->default_value("val"))
      ("threads", "threads (0: the CPUs this process may use)", cxxopts::value<int>()->default_value("0"))
      ("o,out", "the fit (HDF5)", cxxopts::value<std::string>());
  auto r = parse_command(opts, argc, argv);
  const std::string out = required<std::string>(r, "out");
  const MaterialStore store(expand_store_paths(required<std::vector<std::string>>(r, "store")), 0);
  const std::string split = r["split"].as<std::string>(), score_split = r["score-split"].as<std::string>();
  const auto score_ids = store.split(score_split);  // a bad split fails now, not after the fit
  AtomicFitOptions options;
  options.threads = r["threads"].as<int>() > 0 ? r["threads"].as<int>() : usable_cpus().count;
  options.progress = [](size_t done, size_t total) {
    if (done % 50 == 0 || done == total) std::fprintf(stderr, "fit-atoms: %zu/%zu materials\n", done, total);
  };

  const auto t0 = std::chrono::steady_clock::now();
  const AtomicDensity atoms = fit_atomic_density(store, split, options);
  const double fit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  atoms.save(out);
  std::printf("fitted %zu elements × %zu Gaussians (σ %.2f–%.2f Å) on %s of split '%s' (%llu voxels) in %.1f s on %d threads\n",
              atoms.coefficients().size(), atoms.widths().size(), atoms.widths().front(), atoms.widths().back(),
              count_of(atoms.fit_materials, "material").c_str(), split.c_str(), static_cast<unsigned long long>(atoms.fit_voxels),
              fit_seconds, options.threads);
  std::printf("electrons per atom (∫f_Z dV):");
  size_t shown = 0;
  for (const auto& [z, c] : atoms.coefficients()) std::printf("%s %s %.3f", shown++ % 10 ? "," : "\n ", element_symbol(z).c_str(), atoms.electrons(z));
  std::printf("\n");

  std::vector<double> nmae;
  size_t skipped = 0;
  const auto t1 = std::chrono::steady_clock::now();
  for (const auto& id : score_ids) {
    const Material m = store.read(id);
    if (!atoms.unseen_elements(m.numbers).empty()) {
      ++skipped;
      continue;
    }
    const std::vector<float> baseline = atoms.grid(m);
    const auto sums = abs_error_sums(baseline.data(), m.density.data(), m.density.size());
    nmae.push_back(sums[0] / sums[1]);
  }
  const double score_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  if (nmae.empty()) throw Error("split '" + score_split + "': every material has an element the fit never saw");
  std::printf("%s: atomic baseline on '%s' (%s%s): NMAE per-material mean %.3f %%, median %.3f %%, p99 %.3f %% (%.1f materials/s)\n",
              out.c_str(), score_split.c_str(), count_of(nmae.size(), "material").c_str(),
              skipped ? (", " + std::to_string(skipped) + " with unseen elements left out").c_str() : "",
              100 * per_mat_mean(nmae), 100 * quantile(nmae, 0.5), 100 * quantile(nmae, 0.99),
              static_cast<double>(nmae.size()) / score_seconds);
  return 0;
}

}  // namespace rhotrain
