// Tokenizer throughput (sequences/s on one core): P=19 with a 16384-bin codec and P=6 with 256 bins,
// from grids in memory and from an HDF5 store through the chunk cache; plus the two parts of the hot
// loop on their own (codec search, patch gather) and a plain binary search for comparison.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "common/random.h"
#include "materials/store.h"
#include "materials/synthetic.h"
#include "sampler/patch_stream.h"

namespace rhotrain {
namespace {

constexpr int kGrid = 96, kAtoms = 20;

// A 20-atom crystal on a 96³ grid whose density is a smooth synthetic valence density
// (a synthetic material resampled onto the finer grid), as in the numpy reference.
Material bench_material(size_t index) {
  Material src = synthetic_material(7, index);
  while (src.n_atoms() < kAtoms) src = synthetic_material(7, ++index * 1000);
  Material m = src;
  m.numbers.resize(kAtoms);
  m.frac_coords.resize(kAtoms);
  m.grid = {kGrid, kGrid, kGrid};
  m.density.resize(voxel_count(m.grid));
  for (int i = 0; i < kGrid; ++i)
    for (int j = 0; j < kGrid; ++j)
      for (int k = 0; k < kGrid; ++k)
        m.density[(size_t(i) * kGrid + j) * kGrid + k] =
            src.density[(size_t(i * src.grid[0] / kGrid) * src.grid[1] + j * src.grid[1] / kGrid) * src.grid[2] +
                        k * src.grid[2] / kGrid];
  return m;
}

const std::vector<Material>& materials() {
  static const std::vector<Material> ms = [] {
    std::vector<Material> v;
    for (size_t i = 0; i < 4; ++i) v.push_back(bench_material(i));
    return v;
  }();
  return ms;
}

const LmqCodec& codec(int bins) {
  static std::map<int, LmqCodec> codecs;
  auto it = codecs.find(bins);
  if (it == codecs.end()) {
    DensityHistogram h;
    for (const auto& m : materials()) h.add(m.density.data(), m.density.size());
    it = codecs.emplace(bins, LmqCodec::fit(h, bins)).first;
  }
  return it->second;
}

std::vector<PlanEntry> random_entries(size_t n) {
  Rng rng(1);
  std::vector<PlanEntry> e(n);
  for (auto& x : e) {
    x.material = static_cast<uint32_t>(rng.below(materials().size()));
    for (int d = 0; d < 3; ++d) x.origin[d] = static_cast<int>(rng.below(kGrid));
  }
  return e;
}

void run_tokenizer(benchmark::State& state, const PatchSource& source, int patch, int bins) {
  const V3Tokenizer tok(patch, codec(bins), 8192);
  const auto entries = random_entries(256);
  const int row_len = tok.sequence_length(kAtoms);
  std::vector<int32_t> tokens(static_cast<size_t>(row_len)), targets(static_cast<size_t>(tok.patch_voxels()));
  std::vector<float> buf(static_cast<size_t>(tok.patch_voxels()));
  size_t i = 0;
  for (auto _ : state) {
    const PlanEntry& e = entries[i++ % entries.size()];
    source.read_patch(e.material, e.origin, patch, buf.data());
    tok.encode(source.meta(e.material), e.origin, buf.data(), tokens.data(), targets.data());
    benchmark::DoNotOptimize(tokens.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["voxels/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * tok.patch_voxels(), benchmark::Counter::kIsRate);
}

void BM_TokenizeFromMemory(benchmark::State& state) {
  static const MemoryPatchSource source(materials());
  run_tokenizer(state, source, static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
}
BENCHMARK(BM_TokenizeFromMemory)->Args({19, 16384})->Args({6, 256});

void BM_TokenizeFromStore(benchmark::State& state) {
  static const std::string path = (std::filesystem::temp_directory_path() / "rhotrain-bench-store.h5").string();
  static const auto store = [] {
    StoreWriter w(path, StoreWriter::Mode::create);
    std::vector<std::string> ids;
    for (const auto& m : materials()) {
      Material c = m;
      c.id = "bench-" + std::to_string(ids.size());
      w.write(c);
      ids.push_back(c.id);
    }
    w.close();
    return std::make_pair(std::make_shared<MaterialStore>(std::vector<std::string>{path}, size_t{1} << 30), ids);
  }();
  static const StorePatchSource source(store.first, store.second);
  run_tokenizer(state, source, static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  state.counters["cache_hit_rate"] =
      static_cast<double>(store.first->cache_stats().hits) /
      std::max<double>(1.0, static_cast<double>(store.first->cache_stats().hits + store.first->cache_stats().misses));
}
BENCHMARK(BM_TokenizeFromStore)->Args({19, 16384})->Args({6, 256});

// The two halves of the hot loop, per P=19 patch.
void BM_CodecEncode(benchmark::State& state) {
  const LmqCodec& c = codec(static_cast<int>(state.range(0)));
  std::vector<float> patch(19 * 19 * 19);
  gather_patch(materials()[0].grid, materials()[0].density.data(), {10, 20, 30}, 19, patch.data());
  std::vector<int32_t> out(patch.size());
  for (auto _ : state) {
    c.encode(patch.data(), patch.size(), out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(patch.size()));
}
BENCHMARK(BM_CodecEncode)->Arg(256)->Arg(16384);

void BM_BinarySearchEncode(benchmark::State& state) {
  const LmqCodec& c = codec(static_cast<int>(state.range(0)));
  std::vector<float> patch(19 * 19 * 19);
  gather_patch(materials()[0].grid, materials()[0].density.data(), {10, 20, 30}, 19, patch.data());
  std::vector<int32_t> out(patch.size());
  const auto& b = c.boundaries();
  for (auto _ : state) {
    for (size_t i = 0; i < patch.size(); ++i)
      out[i] = static_cast<int32_t>(std::upper_bound(b.begin(), b.end(), std::clamp<double>(patch[i], 0.0, c.clip_max())) - b.begin());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(patch.size()));
}
BENCHMARK(BM_BinarySearchEncode)->Arg(16384);

void BM_GatherPatch(benchmark::State& state) {
  const auto entries = random_entries(256);
  std::vector<float> patch(19 * 19 * 19);
  size_t i = 0;
  for (auto _ : state) {
    const PlanEntry& e = entries[i++ % entries.size()];
    gather_patch(materials()[e.material].grid, materials()[e.material].density.data(), e.origin, 19, patch.data());
    benchmark::DoNotOptimize(patch.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GatherPatch);

}  // namespace
}  // namespace rhotrain

BENCHMARK_MAIN();
