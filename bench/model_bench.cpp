// Where a tiny-model evaluation batch spends its time: 64 P=6 patches of one synthetic crystal (the shape of an
// evaluator batch), through the geometry (decode + per-species periodic-image radial histogram, by the CPU loop and
// by the tensor operations an accelerator uses) and the whole forward pass. Patches/s on this machine's LibTorch
// threads; argument = the crystal's index in the default generator (2000: 28 atoms, 7.8 × 5.2 × 5.5 Å; 2013: one
// atom, 3.9 × 4.0 × 5.8 Å; 2014: 37 atoms, 10.6 × 9.1 × 11.8 Å). Run it as the binary runs:
// OPENBLAS_NUM_THREADS=1 build/bench/model_bench.
#include <benchmark/benchmark.h>

#include "materials/synthetic.h"
#include "models/density_transformer.h"
#include "sampler/v3_tokenizer.h"

namespace rhotrain {
namespace {

constexpr int kPatch = 6, kBatch = 64, kBins = 256;

struct EvalBatch {
  torch::Tensor tokens, dens_start;
};

EvalBatch eval_batch(size_t index) {
  const Material m = synthetic_material(0, index);
  std::vector<double> levels;
  for (int i = 0; i < kBins; ++i) levels.push_back(0.01 * (i + 1));
  const V3Tokenizer tok(kPatch, LmqCodec(levels, 3.0), 4096);
  const int L = tok.sequence_length(m.n_atoms()), V = tok.patch_voxels();
  std::vector<int32_t> tokens(static_cast<size_t>(kBatch * L)), bins(static_cast<size_t>(kBatch * V));
  std::vector<float> patch(static_cast<size_t>(V));
  for (int r = 0; r < kBatch; ++r) {
    const Grid origin{(r * 5) % m.grid[0], (r * 3) % m.grid[1], (r * 7) % m.grid[2]};
    gather_patch(m.grid, m.density.data(), origin, kPatch, patch.data());
    tok.encode(m, origin, patch.data(), tokens.data() + r * L, bins.data() + r * V);
  }
  return {torch::tensor(std::vector<int64_t>(tokens.begin(), tokens.end())).view({kBatch, L}),
          torch::full({kBatch}, static_cast<int64_t>(v3::dens_start(m.n_atoms())), torch::kInt64)};
}

// Second argument 1: the histogram by tensor operations, the path an accelerator takes (here on the CPU, for scale).
void BM_Geometry(benchmark::State& state) {
  const auto b = eval_batch(static_cast<size_t>(state.range(0)));
  const bool by_tensor_ops = state.range(1) == 1;
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    const auto g = decode_geometry(b.tokens, b.dens_start, kPatch);
    benchmark::DoNotOptimize(by_tensor_ops ? species_radial_histogram_by_tensor_ops(g, 4.8, 48) : species_radial_histogram(g, 4.8, 48));
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

void BM_TinyForward(benchmark::State& state) {
  const auto b = eval_batch(static_cast<size_t>(state.range(0)));
  ModelConfig c;
  apply_model_preset("tiny", c);
  c.patch = kPatch, c.density_bins = kBins, c.vocab = v3::kDensOffset + kBins;
  DensityTransformer model(c);
  model->eval();
  torch::NoGradGuard no_grad;
  const auto hidden = torch::ones({kBatch, kPatch * kPatch * kPatch}, torch::kBool);
  for (auto _ : state) benchmark::DoNotOptimize(model->forward(b.tokens, b.dens_start, hidden));
  state.SetItemsProcessed(state.iterations() * kBatch);
}

BENCHMARK(BM_Geometry)->ArgsProduct({{2000, 2013, 2014}, {0, 1}})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TinyForward)->Arg(2000)->Arg(2013)->Arg(2014)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace rhotrain

BENCHMARK_MAIN();
