// rhotrain fit-codec: the LMQ (Lloyd–Max) density codec fitted on a split, and its floor on another.
#include <chrono>
#include <cstdio>

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
      ("o,out", "codec file (HDF5)", cxxopts::value<std::string>());
  opts.add_options(kAliases)("output", "", cxxopts::value<std::string>());
  auto r = parse_command(opts, argc, argv);
  const int bins = r["bins"].as<int>();
  if (bins < 16 || bins > 65536) throw UsageError("--bins must be in 16..65536, not " + std::to_string(bins));
  const std::string out = required<std::string>(r, "out", "output");
  const MaterialStore store(expand_store_paths(required<std::vector<std::string>>(r, "store")), 0);
  const std::string split = r["split"].as<std::string>(), floor_split = r["floor-split"].as<std::string>();
  const auto floor_ids = store.split(floor_split);  // a bad split fails now, not after the fit

  const auto t0 = std::chrono::steady_clock::now();
  LloydReport report;
  const LmqCodec codec = fit_codec_on_split(store, split, bins, r["iterations"].as<int>(), &report);
  std::printf("fitted on %llu voxels of split '%s' (%.1f s), clip_max %.4g e/A^3\n",
              static_cast<unsigned long long>(codec.fit_voxels), split.c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), codec.clip_max());
  for (int i = 0; i < report.iterations; ++i)
    std::printf("lloyd iteration %2d: distortion (MSE) %.6e\n", i + 1, report.distortion[static_cast<size_t>(i)]);

  double sum = 0;
  for (const auto& id : floor_ids) sum += codec_floor_nmae(codec, store.read(id).density);
  codec.save(out);
  std::printf("codec %s: %d bins, clip_max %.4g; floor on '%s' (%s): per-mat-mean NMAE %.4f %%\n",
              out.c_str(), bins, codec.clip_max(), floor_split.c_str(), count_of(floor_ids.size(), "material").c_str(),
              100.0 * sum / static_cast<double>(floor_ids.size()));
  return 0;
}

}  // namespace rhotrain
