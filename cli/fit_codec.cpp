// rhotrain fit-codec: the LMQ (Lloyd–Max) codec of the density — or of its residual over an atomic-density fit —
// fitted on a split, and its floor on another.
#include <chrono>
#include <cstdio>
#include <optional>

#include "cli/args.h"
#include "cli/commands.h"
#include "common/error.h"
#include "common/text.h"
#include "materials/store.h"
#include "sampler/training_set.h"

namespace rhotrain {

int cmd_fit_codec(int argc, char** argv) {
  cxxopts::Options opts("rhotrain fit-codec", "Fit the LMQ (Lloyd–Max) density codec and report its floor.");
  opts.add_options()
      ("store", "store file(s) or glob(s)", cxxopts::value<std::vector<std::string>>())
      ("split", "split to fit on", cxxopts::value<std::string>()->default_value("train"))
      ("floor-split", "split to measure the codec floor on", cxxopts::value<std::string>()->default_value("val"))
      ("bins", "number of bins (16..65536)", cxxopts::value<int>()->default_value("256"))
      ("iterations", "maximum Lloyd iterations", cxxopts::value<int>()->default_value("30"))
      ("atoms", "atomic-density fit (fit-atoms): fit a signed codec of the residuals ρ − ρ_atoms instead", cxxopts::value<std::string>())
      ("o,out", "codec file (HDF5)", cxxopts::value<std::string>());
  opts.add_options(kAliases)("output", "", cxxopts::value<std::string>());
  auto r = parse_command(opts, argc, argv);
  const int bins = r["bins"].as<int>();
  if (bins < 16 || bins > 65536) throw UsageError("--bins must be in 16..65536, not " + std::to_string(bins));
  const std::string out = required<std::string>(r, "out", "output");
  const MaterialStore store(expand_store_paths(required<std::vector<std::string>>(r, "store")), 0);
  const std::string split = r["split"].as<std::string>(), floor_split = r["floor-split"].as<std::string>();
  const auto floor_ids = store.split(floor_split);  // a bad split fails now, not after the fit

  std::optional<AtomicDensity> atoms;
  if (r.count("atoms")) atoms = AtomicDensity::load(r["atoms"].as<std::string>());
  const auto t0 = std::chrono::steady_clock::now();
  LloydReport report;
  const LmqCodec codec = fit_codec_on_split(store, split, bins, r["iterations"].as<int>(), &report, atoms ? &*atoms : nullptr);
  std::printf("fitted on %llu voxels of split '%s' (%.1f s), clip_max %.4g e/A^3\n",
              static_cast<unsigned long long>(codec.fit_voxels), split.c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), codec.clip_max());
  for (int i = 0; i < report.iterations; ++i)
    std::printf("lloyd iteration %2d: distortion (MSE) %.6e\n", i + 1, report.distortion[static_cast<size_t>(i)]);

  // A residual codec's floor needs ρ_atoms: materials with an element the fit never saw are left out, and said so.
  double sum = 0;
  size_t scored = 0;
  for (const auto& id : floor_ids) {
    const Material m = store.read(id);
    if (atoms && !atoms->unseen_elements(m.numbers).empty()) continue;
    sum += codec_floor_nmae(codec, m.density, atoms ? atoms->grid(m) : std::vector<float>{});
    ++scored;
  }
  codec.save(out);
  std::printf("%s codec %s: %d bins, clip %.4g..%.4g; floor on '%s' (%s%s): per-mat-mean NMAE %s\n", codec.target.c_str(), out.c_str(), bins,
              codec.clip_min(), codec.clip_max(), floor_split.c_str(), count_of(scored, "material").c_str(),
              scored < floor_ids.size() ? (", " + std::to_string(floor_ids.size() - scored) + " with elements the atomic fit never saw left out").c_str() : "",
              scored ? (std::to_string(100.0 * sum / static_cast<double>(scored)) + " %").c_str() : "n/a");
  return 0;
}

}  // namespace rhotrain
