// The training objective: the MaskGIT mask depends on a sequence's stream position alone (what makes a resumed or
// re-batched run see the same masks), and the loss is each scored slot's cross-entropy weighted by ρ^p, averaged
// per sequence, then over the batch with the sequence weights.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "trainer/loss.h"

namespace rhotrain {
namespace {

TEST(TrainingMask, DependsOnTheStreamPositionAloneAndHidesAtLeastOneSlot) {
  const auto batch = training_mask({7, 8, 9, 10}, 27, 5);
  const auto alone = training_mask({9}, 27, 5);
  EXPECT_TRUE(torch::equal(batch[2], alone[0]));
  EXPECT_FALSE(torch::equal(batch[0], batch[1]));
  EXPECT_FALSE(torch::equal(alone, training_mask({9}, 27, 6))) << "another seed, another mask";
  std::vector<uint64_t> positions(400);
  for (size_t i = 0; i < positions.size(); ++i) positions[i] = i;
  const auto hidden_per_sequence = training_mask(positions, 27, 1).sum(1).to(torch::kDouble);
  EXPECT_GE(hidden_per_sequence.min().item<double>(), 1);
  EXPECT_LE(hidden_per_sequence.max().item<double>(), 27);
  // The hidden share is cos(π/2·r), r ~ U(0, 1): 2/π of the slots on average.
  EXPECT_NEAR(hidden_per_sequence.mean().item<double>() / 27, 2 / M_PI, 0.05);
}

TEST(DensityLoss, IsTheDensityWeightedCrossEntropyOfTheScoredSlots) {
  const LmqCodec codec({0.25, 1.0, 4.0}, 5.0);  // levels ρ: weights ρ^0.5 = 0.5, 1, 2
  const DensityLoss loss(codec, 0.5, torch::kCPU);
  const auto logits = torch::tensor({0.0f, 1.0f, 2.0f, 2.0f, 0.0f, 1.0f, 1.0f, 1.0f, 1.0f, 0.5f, 0.0f, 0.0f}).view({2, 2, 3});
  const auto targets = torch::tensor({0L, 2L, 1L, 0L}).view({2, 2});
  const auto hidden = torch::tensor({true, true, false, true}).view({2, 2});
  const auto weight = torch::tensor({1.0f, 3.0f});
  auto ce = [](std::vector<double> z, int t) {
    double s = 0;
    for (double x : z) s += std::exp(x);
    return std::log(s) - z[static_cast<size_t>(t)];
  };
  // Sequence 0 scores both slots (weights 0.5 and 2), sequence 1 only its second (weight 0.5).
  const double seq0 = (0.5 * ce({0, 1, 2}, 0) + 2 * ce({2, 0, 1}, 2)) / 2.5, seq1 = ce({0.5, 0, 0}, 0);
  EXPECT_NEAR(loss(logits, targets, hidden, weight).item<double>(), (1 * seq0 + 3 * seq1) / 2, 1e-5);
  // Causal: every slot is scored.
  const double all1 = (1.0 * ce({1, 1, 1}, 1) + 0.5 * ce({0.5, 0, 0}, 0)) / 1.5;
  EXPECT_NEAR(loss(logits, targets, {}, weight).item<double>(), (1 * seq0 + 3 * all1) / 2, 1e-5);
}

}  // namespace
}  // namespace rhotrain
