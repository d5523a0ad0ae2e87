// The atomic-density baseline on the shipped Quantum ESPRESSO store (data/qe): how many materials per second the fit
// takes in, and how many ρ_atoms grids per second it evaluates (every periodic image summed exactly) — what the
// residual target and every evaluation pay per material.
#include <benchmark/benchmark.h>

#include "materials/atomic_density.h"
#include "materials/store.h"

namespace rhotrain {
namespace {

const MaterialStore& qe_store() {
  static const MaterialStore store({std::string(RHOTRAIN_SOURCE_DIR) + "/data/qe/qe.h5"}, 0);
  return store;
}

void BM_FitAtomicDensity(benchmark::State& state) {
  AtomicFitOptions options;
  options.threads = static_cast<int>(state.range(0));
  size_t materials = 0;
  for (auto _ : state) {
    const AtomicDensity fit = fit_atomic_density(qe_store(), "val", options);
    materials += fit.fit_materials;
  }
  state.SetItemsProcessed(static_cast<int64_t>(materials));
  state.counters["materials/s"] = benchmark::Counter(static_cast<double>(materials), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FitAtomicDensity)->Arg(1)->Arg(2)->Unit(benchmark::kSecond)->UseRealTime();

void BM_AtomicDensityGrid(benchmark::State& state) {
  static const AtomicDensity fit = fit_atomic_density(qe_store(), "val", {});
  const auto ids = qe_store().split("val");
  size_t i = 0, voxels = 0;
  for (auto _ : state) {
    const MaterialMeta& m = qe_store().meta(ids[i++ % ids.size()]);
    benchmark::DoNotOptimize(fit.grid(m));
    voxels += voxel_count(m.grid);
  }
  state.counters["materials/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["voxels/s"] = benchmark::Counter(static_cast<double>(voxels), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AtomicDensityGrid)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace rhotrain

BENCHMARK_MAIN();
