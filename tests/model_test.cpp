// The density transformer: its geometry, decoded from its own tokens (the per-species periodic-image radial
// histogram against a brute force over the true cell, on a small skewed cell where several images of an atom
// are inside the cutoff), free-running causal decoding with a KV cache against the full forward pass, and a
// padded batch of different crystals against each crystal alone.
#include <gtest/gtest.h>

#include <cmath>

#include "models/density_transformer.h"
#include "models/model_config.h"
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
  torch::manual_seed(3);
  DensityTransformer model(c);
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
  EXPECT_LT(max_diff, 1e-4);
  EXPECT_GT(full.std().item<double>(), 1e-3) << "the logits vary, so agreement means something";
  EXPECT_THROW(model->decode_next(t.select(1, ds + V), cache), c10::Error);
}

// A padded batch of crystals with 3 and 1 atoms must give each crystal the logits it gets alone: padding,
// the per-sequence DENS_START and (unless attended) the dropped position tokens are handled per sequence.
TEST(DensityTransformer, PaddedBatchGivesEachCrystalItsOwnLogits) {
  Material one;
  one.id = "one";
  one.lattice = Eigen::Matrix3d::Identity() * 4.0;
  one.numbers = {29};
  one.frac_coords = {{0.3, 0.6, 0.1}};
  one.grid = {8, 8, 8};
  one.density.assign(512, 0.2f);
  compute_electron_counts(one);
  const Material crystals[2] = {small_skewed_cell(), one};

  const int P = 3, bins = 16, V = P * P * P;
  const V3Tokenizer tok(P, evenly_spaced_codec(bins, 0.05, 1.0), 1024);
  const int L = tok.sequence_length(crystals[0].n_atoms());
  std::vector<int64_t> batch(static_cast<size_t>(2 * L), v3::PAD);
  torch::Tensor alone[2], dens_start = torch::zeros({2}, torch::kInt64);
  for (int r = 0; r < 2; ++r) {
    const int length = tok.sequence_length(crystals[r].n_atoms());
    std::vector<int32_t> tokens(static_cast<size_t>(length)), targets(static_cast<size_t>(V));
    std::vector<float> patch(static_cast<size_t>(V));
    for (int i = 0; i < V; ++i) patch[static_cast<size_t>(i)] = 0.03f + 0.05f * static_cast<float>((i * 5 + r) % bins);
    tok.encode(crystals[r], {1, 2, 3}, patch.data(), tokens.data(), targets.data());
    std::copy(tokens.begin(), tokens.end(), batch.begin() + r * L);
    alone[r] = torch::tensor(std::vector<int64_t>(tokens.begin(), tokens.end())).unsqueeze(0);
    dens_start[r] = v3::dens_start(crystals[r].n_atoms());
  }
  const auto padded = torch::tensor(batch).view({2, L});
  const auto hidden = torch::arange(2 * V).view({2, V}).remainder(3) == 0;

  for (bool attend : {false, true}) {
    ModelConfig c;
    apply_model_preset("tiny", c);
    c.attend_positions = attend, c.patch = P, c.density_bins = bins, c.vocab = v3::kDensOffset + bins;
    torch::manual_seed(5);
    DensityTransformer model(c);
    model->eval();
    torch::NoGradGuard no_grad;
    const auto together = model->forward(padded, dens_start, hidden);
    for (int r = 0; r < 2; ++r) {
      const auto own = model->forward(alone[r], dens_start.narrow(0, r, 1), hidden.narrow(0, r, 1));
      EXPECT_LT((together.narrow(0, r, 1) - own).abs().max().item<double>(), 1e-4) << "crystal " << r << ", attend_positions " << attend;
    }
    EXPECT_GT((together[0] - together[1]).abs().max().item<double>(), 1e-3) << "the two crystals get different logits";
  }
}

}  // namespace
}  // namespace rhotrain
