// The density transformer: its geometry, decoded from its own tokens (the per-species periodic-image radial
// histogram against a brute force over the true cell, on a small skewed cell where several images of an atom
// are inside the cutoff), free-running causal decoding with a KV cache against the full forward pass, and a
// padded batch of different crystals against each crystal alone. Then how the model runs: fused attention (the bias
// folded into extra head dimensions) against explicit logits, bf16 autocast against fp32, the geometry by tensor
// operations against the loop, and, where LibTorch sees a CUDA device, the device against the CPU.
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <cmath>

#include "materials/synthetic.h"
#include "models/density_transformer.h"
#include "models/model_config.h"
#include "models/torch_compat.h"
#include "sampler/v3_tokenizer.h"

namespace rhotrain {
namespace {

// A codec with `bins` levels step, 2·step, …: enough to tokenize a patch; these tests never score densities.
LmqCodec evenly_spaced_codec(int bins, double step, double clip) {
  std::vector<double> levels;
  for (int i = 0; i < bins; ++i) levels.push_back(step * (i + 1));
  return LmqCodec(levels, clip);
}

// Lengths and angles on the token grid (0.05 Å, 0.2°), so tokens carry the cell exactly.
Material small_skewed_cell() {
  Material m;
  m.id = "skewed";
  const double a = 3.2, b = 4.35, c = 5.1, alpha = 90.0 * M_PI / 180, beta = 95.4 * M_PI / 180, gamma = 120.0 * M_PI / 180;
  const double cx = c * std::cos(beta), cy = c * (std::cos(alpha) - std::cos(beta) * std::cos(gamma)) / std::sin(gamma);
  m.lattice << a, 0, 0, b * std::cos(gamma), b * std::sin(gamma), 0, cx, cy, std::sqrt(c * c - cx * cx - cy * cy);
  m.numbers = {8, 14, 14};
  m.frac_coords = {{0.1, 0.2, 0.3}, {0.55, 0.9, 0.05}, {0.97, 0.41, 0.66}};
  m.grid = {11, 14, 17};
  m.density.assign(static_cast<size_t>(11 * 14 * 17), 0.1f);
  compute_electron_counts(m);
  return m;
}

TEST(Geometry, SpeciesRadialHistogramMatchesABruteForceOverPeriodicImages) {
  const Material m = small_skewed_cell();
  const int P = 3, bins = 48;
  const double cutoff = 4.8, step = cutoff / bins;
  const V3Tokenizer tok(P, evenly_spaced_codec(16, 0.1, 2.0), 1024);
  const Grid origin{9, 2, 15};  // wraps on the first and last axes
  std::vector<float> patch(static_cast<size_t>(P * P * P), 0.1f);
  std::vector<int32_t> tokens(static_cast<size_t>(tok.sequence_length(m.n_atoms()))), targets(patch.size());
  tok.encode(m, origin, patch.data(), tokens.data(), targets.data());
  auto t = torch::tensor(std::vector<int64_t>(tokens.begin(), tokens.end())).unsqueeze(0);
  auto dens_start = torch::full({1}, static_cast<int64_t>(v3::dens_start(m.n_atoms())), torch::kInt64);
  const auto h = species_radial_histogram(decode_geometry(t, dens_start, P), cutoff, bins);
  // Species in order of first appearance: O (atom 0), then Si (atoms 1 and 2).
  ASSERT_EQ(h.histogram.sizes(), (std::vector<int64_t>{1, P * P * P, 2, bins}));
  EXPECT_EQ(h.first_atom[0][0].item<int64_t>(), 0);
  EXPECT_EQ(h.first_atom[0][1].item<int64_t>(), 1);
  EXPECT_TRUE(h.valid.all().item<bool>());
  const int species_of_atom[3] = {0, 1, 1};

  double max_diff = 0, total = 0;
  for (int v = 0; v < P * P * P; ++v) {
    std::vector<double> want(2 * (bins + 1), 0.0);
    for (size_t n = 0; n < m.n_atoms(); ++n) {
      double* w = want.data() + species_of_atom[n] * (bins + 1);
      const Eigen::Vector3d voxel((origin[0] + v / (P * P)) / 11.0, (origin[1] + v / P % P) / 14.0, (origin[2] + v % P) / 17.0);
      for (int i = -4; i <= 4; ++i)
        for (int j = -4; j <= 4; ++j)
          for (int k = -4; k <= 4; ++k) {
            const Eigen::Vector3d f = voxel - m.frac_coords[n] + Eigen::Vector3d(i, j, k);
            const double r = (f.transpose() * m.lattice).norm();
            if (r >= cutoff) continue;
            const int lower = static_cast<int>(r / step);
            w[lower] += 1 - (r / step - lower);
            w[lower + 1] += r / step - lower;
          }
    }
    for (int s = 0; s < 2; ++s)
      for (int b = 0; b < bins; ++b) {
        max_diff = std::max(max_diff, std::abs(want[static_cast<size_t>(s * (bins + 1) + b)] - h.histogram[0][v][s][b].item<double>()));
        total += want[static_cast<size_t>(s * (bins + 1) + b)];
      }
  }
  EXPECT_LT(max_diff, 1e-3);
  EXPECT_GT(total / (P * P * P * 3), 5.0) << "the cell is small enough that many images are inside the cutoff";
}

TEST(CausalDecoding, KvCacheStepsMatchTheFullForwardAndNeverReadAheadOfThemselves) {
  const Material m = small_skewed_cell();
  const int P = 3, bins = 16, V = P * P * P;
  const V3Tokenizer tok(P, evenly_spaced_codec(bins, 0.05, 1.0), 1024);
  const int L = tok.sequence_length(m.n_atoms());
  std::vector<int32_t> tokens(static_cast<size_t>(2 * L)), targets(static_cast<size_t>(2 * V));
  std::vector<float> patch(static_cast<size_t>(V));
  const Grid origins[2] = {{9, 2, 15}, {0, 7, 3}};
  for (int r = 0; r < 2; ++r) {
    for (int i = 0; i < V; ++i) patch[static_cast<size_t>(i)] = 0.03f + 0.05f * static_cast<float>((i * 7 + r * 3) % bins);
    tok.encode(m, origins[r], patch.data(), tokens.data() + r * L, targets.data() + r * V);
  }
  auto t = torch::tensor(std::vector<int64_t>(tokens.begin(), tokens.end())).view({2, L});
  const int64_t ds = v3::dens_start(m.n_atoms());

  ModelConfig c;
  apply_model_preset("tiny", c);
  c.layers = 2, c.causal = true, c.patch = P, c.density_bins = bins, c.vocab = v3::kDensOffset + bins;
  for (bool fused : {false, true}) {
    torch::manual_seed(3);
    DensityTransformer model(c);
    model->set_execution({fused, false});
    model->eval();
    torch::NoGradGuard no_grad;
    const auto full = model->forward(t, torch::full({2}, ds, torch::kInt64), {});  // [2, V, bins]

    // The decoder is given wrong density tokens up front: it must read only what decode_next feeds it.
    auto scrambled = t.clone();
    scrambled.narrow(1, ds + 1, V).fill_(v3::kDensOffset + 5);
    DensityTransformerImpl::DecodeCache cache;
    auto logits = model->start_decoding(scrambled, ds, cache);
    double max_diff = (logits - full.select(1, 0)).abs().max().item<double>();
    for (int s = 0; s + 1 < V; ++s) {
      logits = model->decode_next(t.select(1, ds + 1 + s), cache);
      max_diff = std::max(max_diff, (logits - full.select(1, s + 1)).abs().max().item<double>());
    }
    EXPECT_LT(max_diff, 1e-4) << "fused " << fused;
    EXPECT_GT(full.std().item<double>(), 1e-3) << "the logits vary, so agreement means something";
    EXPECT_THROW(model->decode_next(t.select(1, ds + V), cache), c10::Error);
  }
}

// Two crystals, with 3 atoms (two species) and 1, tokenized at P = 3 into one PAD-filled batch, each also alone, and
// a hidden mask over their density slots.
struct TwoCrystalBatch {
  static constexpr int P = 3, bins = 16, V = P * P * P;
  torch::Tensor padded, dens_start, hidden, alone[2];
};

TwoCrystalBatch two_crystal_batch() {
  Material one;
  one.id = "one";
  one.lattice = Eigen::Matrix3d::Identity() * 4.0;
  one.numbers = {29};
  one.frac_coords = {{0.3, 0.6, 0.1}};
  one.grid = {8, 8, 8};
  one.density.assign(512, 0.2f);
  compute_electron_counts(one);
  const Material crystals[2] = {small_skewed_cell(), one};

  constexpr int P = TwoCrystalBatch::P, bins = TwoCrystalBatch::bins, V = TwoCrystalBatch::V;
  const V3Tokenizer tok(P, evenly_spaced_codec(bins, 0.05, 1.0), 1024);
  const int L = tok.sequence_length(crystals[0].n_atoms());
  std::vector<int64_t> batch(static_cast<size_t>(2 * L), v3::PAD);
  TwoCrystalBatch b;
  b.dens_start = torch::zeros({2}, torch::kInt64);
  for (int r = 0; r < 2; ++r) {
    const int length = tok.sequence_length(crystals[r].n_atoms());
    std::vector<int32_t> tokens(static_cast<size_t>(length)), targets(static_cast<size_t>(V));
    std::vector<float> patch(static_cast<size_t>(V));
    for (int i = 0; i < V; ++i) patch[static_cast<size_t>(i)] = 0.03f + 0.05f * static_cast<float>((i * 5 + r) % bins);
    tok.encode(crystals[r], {1, 2, 3}, patch.data(), tokens.data(), targets.data());
    std::copy(tokens.begin(), tokens.end(), batch.begin() + r * L);
    b.alone[r] = torch::tensor(std::vector<int64_t>(tokens.begin(), tokens.end())).unsqueeze(0);
    b.dens_start[r] = v3::dens_start(crystals[r].n_atoms());
  }
  b.padded = torch::tensor(batch).view({2, L});
  b.hidden = torch::arange(2 * V).view({2, V}).remainder(3) == 0;
  return b;
}

// The tiny preset shaped for the two-crystal batch, initialised under one seed.
DensityTransformer tiny_model(bool causal, bool attend_positions, uint64_t seed) {
  ModelConfig c;
  apply_model_preset("tiny", c);
  c.causal = causal, c.attend_positions = attend_positions;
  c.patch = TwoCrystalBatch::P, c.density_bins = TwoCrystalBatch::bins, c.vocab = v3::kDensOffset + TwoCrystalBatch::bins;
  torch::manual_seed(seed);
  return DensityTransformer(c);
}

double relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  return ((got.to(torch::kCPU, torch::kDouble) - want.to(torch::kCPU, torch::kDouble)).norm() / want.to(torch::kDouble).norm().cpu())
      .item<double>();
}

// A padded batch of crystals with 3 and 1 atoms must give each crystal the logits it gets alone: padding,
// the per-sequence DENS_START and (unless attended) the dropped position tokens are handled per sequence.
TEST(DensityTransformer, PaddedBatchGivesEachCrystalItsOwnLogits) {
  const TwoCrystalBatch b = two_crystal_batch();
  for (bool fused : {false, true})
    for (bool attend : {false, true}) {
      DensityTransformer model = tiny_model(false, attend, 5);
      model->set_execution({fused, false});
      model->eval();
      torch::NoGradGuard no_grad;
      const auto together = model->forward(b.padded, b.dens_start, b.hidden);
      for (int r = 0; r < 2; ++r) {
        const auto own = model->forward(b.alone[r], b.dens_start.narrow(0, r, 1), b.hidden.narrow(0, r, 1));
        EXPECT_LT((together.narrow(0, r, 1) - own).abs().max().item<double>(), 1e-4)
            << "crystal " << r << ", attend_positions " << attend << ", fused " << fused;
      }
      EXPECT_GT((together[0] - together[1]).abs().max().item<double>(), 1e-3) << "the two crystals get different logits";
    }
}

// Fused attention carries the geometry bias and the padding mask in extra head dimensions instead of adding them to
// explicit logits (on LibTorch 1.13 the same arithmetic runs in plain operations): the logits and every weight's
// gradient must be the explicit path's, for both objectives.
TEST(FusedAttention, GivesTheExplicitLogitsAndGradients) {
  const TwoCrystalBatch b = two_crystal_batch();
  for (bool causal : {false, true}) {
    torch::Tensor logits[2];
    std::vector<torch::Tensor> grads[2];
    for (int fused = 0; fused < 2; ++fused) {
      DensityTransformer model = tiny_model(causal, false, 11);
      model->set_execution({fused == 1, false});
      logits[fused] = model->forward(b.padded, b.dens_start, causal ? torch::Tensor() : b.hidden);
      (logits[fused] * torch::linspace(-1.0, 1.0, logits[fused].numel()).view_as(logits[fused])).sum().backward();
      for (const auto& p : model->parameters())  // a weight the objective leaves unused has no gradient
        grads[fused].push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
    }
    EXPECT_LT(relative_error(logits[1], logits[0]), 1e-5) << "causal " << causal;
    double worst = 0;
    for (size_t i = 0; i < grads[0].size(); ++i)
      if (grads[0][i].norm().item<double>() > 0) worst = std::max(worst, relative_error(grads[1][i], grads[0][i]));
    EXPECT_LT(worst, 1e-4) << "causal " << causal;
  }
}

// Under bf16 autocast the logits stay close to fp32's, come back in fp32, and the weights and their gradients stay
// fp32 (the optimizer's master copy); autocast is off again after the call.
TEST(Bf16Autocast, TracksFp32AndKeepsTheWeightsFp32) {
  const TwoCrystalBatch b = two_crystal_batch();
  for (bool fused : {false, true}) {
    DensityTransformer model = tiny_model(false, false, 13);
    model->set_execution({fused, false});
    const auto fp32 = model->forward(b.padded, b.dens_start, b.hidden).detach();
    model->set_execution({fused, true});
    const auto bf16 = model->forward(b.padded, b.dens_start, b.hidden);
    EXPECT_EQ(bf16.scalar_type(), torch::kFloat32);
    const double err = relative_error(bf16, fp32);
    EXPECT_LT(err, 1e-2) << "fused " << fused;
    EXPECT_GT(err, 0.0) << "bf16 must change the arithmetic, or autocast is not on";
    bf16.pow(2).mean().backward();
    for (const auto& p : model->parameters()) {
      EXPECT_EQ(p.scalar_type(), torch::kFloat32);
      if (p.grad().defined()) {
        EXPECT_EQ(p.grad().scalar_type(), torch::kFloat32);
      }
    }
    EXPECT_EQ(torch::matmul(torch::ones({2, 2}), torch::ones({2, 2})).scalar_type(), torch::kFloat32) << "autocast left on";
  }
}

// The geometry histogram by tensor operations (the accelerator path) equals the CPU loop on padded batches: two small
// crystals, and synthetic crystals of 28 atoms, 1 atom in a small cell and 37 atoms at P = 4.
TEST(Geometry, TensorOperationsGiveTheLoopsHistogram) {
  const TwoCrystalBatch two = two_crystal_batch();
  const V3Tokenizer tok(4, evenly_spaced_codec(16, 0.05, 1.0), 4096);
  std::vector<Material> synthetic;
  for (size_t index : {2000, 2013, 2014}) synthetic.push_back(synthetic_material(0, index));
  int L = 0;
  for (const auto& m : synthetic) L = std::max(L, tok.sequence_length(m.n_atoms()));
  auto tokens = torch::full({3, L}, v3::PAD, torch::kInt64), dens_start = torch::zeros({3}, torch::kInt64);
  std::vector<float> patch(64, 0.1f);
  for (int r = 0; r < 3; ++r) {
    std::vector<int32_t> row(static_cast<size_t>(tok.sequence_length(synthetic[r].n_atoms()))), bins(64);
    tok.encode(synthetic[r], {r, 2 * r, 1}, patch.data(), row.data(), bins.data());
    tokens[r].narrow(0, 0, static_cast<int64_t>(row.size())).copy_(torch::tensor(std::vector<int64_t>(row.begin(), row.end())));
    dens_start[r] = v3::dens_start(synthetic[r].n_atoms());
  }
  for (const auto& [t, ds, P] : {std::tuple{two.padded, two.dens_start, 3}, std::tuple{tokens, dens_start, 4}}) {
    const TokenGeometry g = decode_geometry(t, ds, P);
    const SpeciesHistogram loop = species_radial_histogram(g, 4.8, 48);
    const SpeciesHistogram ops = species_radial_histogram_by_tensor_ops(g, 4.8, 48);
    EXPECT_TRUE(torch::equal(ops.first_atom, loop.first_atom)) << ops.first_atom << loop.first_atom;
    EXPECT_TRUE(torch::equal(ops.valid, loop.valid));
    ASSERT_EQ(ops.histogram.sizes(), loop.histogram.sizes());
    EXPECT_LT((ops.histogram - loop.histogram).abs().max().item<double>(), 1e-4);
    EXPECT_GT(loop.histogram.sum().item<double>(), 10.0) << "atoms lie inside the cutoff, so the comparison means something";
  }
}

// ---- on a CUDA device (skipped without one; scripts/gpu-check.sh runs them on the GPU machine)

// The CUDA forward equals the CPU forward on the same weights and batch: fp32 within 1e-4, bf16 within 1e-2, both
// attention paths; the histogram by tensor operations on the device equals the CPU loop.
TEST(Cuda, ForwardEqualsTheCpuForward) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible to LibTorch " << torch_version();
  const TwoCrystalBatch b = two_crystal_batch();
  const torch::Device cuda(torch::kCUDA);
  for (bool causal : {false, true}) {
    DensityTransformer model = tiny_model(causal, false, 17);
    model->eval();
    torch::NoGradGuard no_grad;
    const auto hidden = causal ? torch::Tensor() : b.hidden;
    const auto cpu = model->forward(b.padded, b.dens_start, hidden);
    model->to(cuda);
    for (bool fused : {false, true})
      for (bool bf16 : {false, true}) {
        if (fused && !fused_attention_available()) continue;
        model->set_execution({fused, bf16});
        const auto gpu = model->forward(b.padded.to(cuda), b.dens_start.to(cuda), hidden.defined() ? hidden.to(cuda) : hidden);
        EXPECT_LT(relative_error(gpu, cpu), bf16 ? 1e-2 : 1e-4) << "causal " << causal << ", fused " << fused << ", bf16 " << bf16;
      }
  }
  const TokenGeometry g = decode_geometry(b.padded.to(cuda), b.dens_start.to(cuda), TwoCrystalBatch::P);
  const SpeciesHistogram device = species_radial_histogram(g, 4.8, 48);
  const SpeciesHistogram loop = species_radial_histogram(decode_geometry(b.padded, b.dens_start, TwoCrystalBatch::P), 4.8, 48);
  EXPECT_TRUE(device.histogram.is_cuda()) << "the histogram stays on the device";
  EXPECT_LT((device.histogram.cpu() - loop.histogram).abs().max().item<double>(), 1e-4);
}

// Free-running decoding with the KV cache on the device, fused, gives the full forward's logits.
TEST(Cuda, KvCacheDecodingMatchesTheFullForward) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible to LibTorch " << torch_version();
  const TwoCrystalBatch b = two_crystal_batch();
  const torch::Device cuda(torch::kCUDA);
  DensityTransformer model = tiny_model(true, false, 19);
  model->to(cuda);
  model->set_execution({fused_attention_available(), false});
  model->eval();
  torch::NoGradGuard no_grad;
  const auto t = b.alone[0].to(cuda);
  const int64_t ds = b.dens_start[0].item<int64_t>();
  const auto full = model->forward(t, torch::full({1}, ds, torch::dtype(torch::kInt64).device(cuda)), {});
  DensityTransformerImpl::DecodeCache cache;
  auto logits = model->start_decoding(t, ds, cache);
  double worst = relative_error(logits, full.select(1, 0));
  for (int s = 0; s + 1 < TwoCrystalBatch::V; ++s) {
    logits = model->decode_next(t.select(1, ds + 1 + s), cache);
    worst = std::max(worst, relative_error(logits, full.select(1, s + 1)));
  }
  EXPECT_LT(worst, 1e-4);
}

}  // namespace
}  // namespace rhotrain
