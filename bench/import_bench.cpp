// Where an import of large CHGCARs spends its time, per file of a 160³ grid (about 74 MB of text, the size of a
// Materials Project CHGCAR): parsing the text (what --jobs spreads over threads) and writing the material into a
// store shard (HDF5 with shuffle + gzip, one writer). Bytes/s count the CHGCAR's text.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "common/files.h"
#include "materials/chgcar.h"
#include "materials/store.h"

namespace rhotrain {
namespace {

constexpr int kGrid = 160;

// A smooth density with a little noise, as a DFT valence density looks to the parser and the compressor.
Material large_material() {
  Material m;
  m.id = "large";
  m.lattice = Eigen::Matrix3d::Identity() * 8.0;
  m.numbers = {14, 14};
  m.frac_coords = {{0.0, 0.0, 0.0}, {0.25, 0.25, 0.25}};
  m.grid = {kGrid, kGrid, kGrid};
  m.density.resize(voxel_count(m.grid));
  for (int i = 0; i < kGrid; ++i)
    for (int j = 0; j < kGrid; ++j)
      for (int k = 0; k < kGrid; ++k) {
        const double x = double(i) / kGrid - 0.5, y = double(j) / kGrid - 0.5, z = double(k) / kGrid - 0.5;
        m.density[(size_t(i) * kGrid + j) * kGrid + k] =
            static_cast<float>(0.1 + std::exp(-(x * x + y * y + z * z) / 0.01) + 1e-3 * ((i * 7 + j * 13 + k * 29) % 17));
      }
  compute_electron_counts(m);
  return m;
}

const std::string& chgcar_path() {
  static const std::string path = [] {
    const std::string p = (std::filesystem::temp_directory_path() / ("rhotrain-import-bench-" + std::to_string(getpid()) + ".CHGCAR")).string();
    write_text_file_atomic(p, format_chgcar(large_material()));
    return p;
  }();
  return path;
}

void BM_ParseChgcar(benchmark::State& state) {
  const auto bytes = std::filesystem::file_size(chgcar_path());
  for (auto _ : state) benchmark::DoNotOptimize(read_chgcar(chgcar_path()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void BM_WriteIntoShard(benchmark::State& state) {
  Material m = read_chgcar(chgcar_path());
  m.id = "large";
  const auto bytes = std::filesystem::file_size(chgcar_path());
  const std::string shard = chgcar_path() + ".h5";
  for (auto _ : state) {
    StoreWriter w(shard, StoreWriter::Mode::create, StorePart::shard);
    w.write(m);
    w.close();
  }
  std::filesystem::remove(shard);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

BENCHMARK(BM_ParseChgcar)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WriteIntoShard)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace rhotrain

BENCHMARK_MAIN();
