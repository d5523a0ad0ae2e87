// This machine's matmul peak through the same LibTorch + BLAS the trainer uses: the denominator of the
// "achieved model FLOP/s" figure the training progress line prints. Arguments: matrix size, BLAS threads
// (training runs OpenBLAS single-threaded beside two LibTorch intra-op threads).
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <torch/torch.h>

namespace {

void BM_Matmul(benchmark::State& state) {
  using SetThreads = void (*)(int);
  if (auto set_blas = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set_blas(static_cast<int>(state.range(1)));
  const int64_t n = state.range(0);
  auto a = torch::randn({n, n}), b = torch::randn({n, n});
  for (auto _ : state) benchmark::DoNotOptimize(torch::matmul(a, b).data_ptr());
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * n * n * n * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Matmul)->Args({1024, 1})->Args({1024, 2})->Args({256, 2})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
