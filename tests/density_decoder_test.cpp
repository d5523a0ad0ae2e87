// The decoders of eval.decode on a codec with known levels: a distribution on one bin decodes to its level
// whatever the decoder; the continuous median moves smoothly across a bin boundary where the median jumps.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "trainer/density_decoder.h"

namespace rhotrain {
namespace {

const LmqCodec kCodec({0.01, 0.05, 0.2, 1.0}, 2.0);  // boundaries 0.03, 0.125, 0.6

torch::Tensor distribution(std::vector<float> p) { return torch::tensor(p).view({1, 4}); }

double decoded(const std::vector<float>& p, const std::string& how) {
  return decode_values(distribution(p), bin_cells(kCodec, torch::kCPU), how).item<double>();
}

TEST(DensityDecoder, OneBinDecodesToItsLevelWhateverTheDecoder) {
  for (const char* how : {"median", "continuous", "mean", "argmax"}) {
    EXPECT_NEAR(decoded({0, 0, 1, 0}, how), 0.2, 1e-7) << how;
    EXPECT_NEAR(decoded({1, 0, 0, 0}, how), 0.01, 1e-7) << how;
    EXPECT_NEAR(decoded({0, 0, 0, 1}, how), 1.0, 1e-7) << how;
  }
}

TEST(DensityDecoder, ContinuousMedianInterpolatesWhereTheMedianJumps) {
  // Half the mass on each of two neighbouring bins: the median is the lower level, the continuous median their
  // shared boundary.
  EXPECT_NEAR(decoded({0, 0.5, 0.5, 0}, "median"), 0.05, 1e-7);
  EXPECT_NEAR(decoded({0, 0.5, 0.5, 0}, "continuous"), 0.125, 1e-7);
  EXPECT_NEAR(decoded({0, 0.5, 0.5, 0}, "mean"), 0.125, 1e-7);
  // 30 % below, 70 % in bin 2: ½ falls 2/7 of the way into bin 2's mass, before its level (at half the mass).
  const double c = decoded({0, 0.3, 0.7, 0}, "continuous");
  EXPECT_NEAR(c, 0.125 + 2 * (0.2 / 0.7) * (0.2 - 0.125), 1e-6);
  EXPECT_NEAR(decoded({0, 0.3, 0.7, 0}, "median"), 0.2, 1e-7);
  // Moving mass from bin 2 to bin 1 lowers the continuous median steadily, through the boundary.
  double previous = 1;
  for (float low = 0.0f; low <= 1.0f; low += 0.1f) {
    const double v = decoded({0, low, 1 - low, 0}, "continuous");
    EXPECT_LE(v, previous + 1e-9) << low;
    previous = v;
  }
  EXPECT_NEAR(decoded({0, 0.3, 0.7, 0}, "argmax"), 0.2, 1e-7);
}

TEST(DensityDecoder, BatchesKeepTheirShape) {
  auto probs = torch::softmax(torch::randn({2, 5, 4}), -1);
  for (const char* how : {"median", "continuous", "mean", "argmax"})
    EXPECT_EQ(decode_values(probs, bin_cells(kCodec, torch::kCPU), how).sizes(), (std::vector<int64_t>{2, 5})) << how;
}

}  // namespace
}  // namespace rhotrain
