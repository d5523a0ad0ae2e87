// The model's geometry, decoded from its own tokens: the periodic-image radial histogram against a brute
// force over the true cell, on a small skewed cell where several images of an atom are inside the cutoff.
#include <gtest/gtest.h>

#include <cmath>

#include "models/density_transformer.h"
#include "sampler/v3_tokenizer.h"

namespace rhotrain {
namespace {

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

TEST(Geometry, ImageRadialHistogramMatchesABruteForceOverPeriodicImages) {
  const Material m = small_skewed_cell();
  const int P = 3, bins = 48;
  const double cutoff = 4.8, step = cutoff / bins;
  std::vector<double> levels;
  for (int i = 0; i < 16; ++i) levels.push_back(0.1 * (i + 1));
  const V3Tokenizer tok(P, LmqCodec(levels, 2.0), 1024);
  const Grid origin{9, 2, 15};  // wraps on the first and last axes
  std::vector<float> patch(static_cast<size_t>(P * P * P), 0.1f);
  std::vector<int32_t> tokens(static_cast<size_t>(tok.sequence_length(m.n_atoms()))), targets(patch.size());
  tok.encode(m, origin, patch.data(), tokens.data(), targets.data());
  auto t = torch::tensor(std::vector<int64_t>(tokens.begin(), tokens.end())).unsqueeze(0);
  auto dens_start = torch::full({1}, static_cast<int64_t>(v3::dens_start(m.n_atoms())), torch::kInt64);
  const auto hist = image_radial_histogram(decode_geometry(t, dens_start, P), cutoff, bins);
  ASSERT_EQ(hist.sizes(), (std::vector<int64_t>{1, P * P * P, 3, bins}));

  double max_diff = 0, total = 0;
  for (int v = 0; v < P * P * P; ++v)
    for (size_t n = 0; n < m.n_atoms(); ++n) {
      std::vector<double> want(bins + 1, 0.0);
      const Eigen::Vector3d voxel((origin[0] + v / (P * P)) / 11.0, (origin[1] + v / P % P) / 14.0, (origin[2] + v % P) / 17.0);
      for (int i = -4; i <= 4; ++i)
        for (int j = -4; j <= 4; ++j)
          for (int k = -4; k <= 4; ++k) {
            const Eigen::Vector3d f = voxel - m.frac_coords[n] + Eigen::Vector3d(i, j, k);
            const double r = (f.transpose() * m.lattice).norm();
            if (r >= cutoff) continue;
            const int lower = static_cast<int>(r / step);
            want[static_cast<size_t>(lower)] += 1 - (r / step - lower);
            want[static_cast<size_t>(lower) + 1] += r / step - lower;
          }
      for (int b = 0; b < bins; ++b) {
        max_diff = std::max(max_diff, std::abs(want[static_cast<size_t>(b)] - hist[0][v][static_cast<int64_t>(n)][b].item<double>()));
        total += want[static_cast<size_t>(b)];
      }
    }
  EXPECT_LT(max_diff, 1e-3);
  EXPECT_GT(total / (P * P * P * 3), 5.0) << "the cell is small enough that many images are inside the cutoff";
}

}  // namespace
}  // namespace rhotrain
