// The training objective: the MaskGIT mask depends on a sequence's stream position alone (what makes a resumed or
// re-batched run see the same masks), and the loss is each scored slot's cross-entropy weighted by ρ^p, averaged
// per sequence, then over the batch with the sequence weights, plus an optional relative CRPS term.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <tuple>

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

// Two sequences of two slots over three bins: logits, targets, hidden slots (sequence 1 hides only its second),
// per-sequence loss weights.
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor, torch::Tensor> two_sequences() {
  return {torch::tensor({0.0f, 1.0f, 2.0f, 2.0f, 0.0f, 1.0f, 1.0f, 1.0f, 1.0f, 0.5f, 0.0f, 0.0f}).view({2, 2, 3}),
          torch::tensor({0L, 2L, 1L, 0L}).view({2, 2}), torch::tensor({true, true, false, true}).view({2, 2}),
          torch::tensor({1.0f, 3.0f})};
}

TEST(DensityLoss, IsTheDensityWeightedCrossEntropyOfTheScoredSlots) {
  const LmqCodec codec({0.25, 1.0, 4.0}, 5.0);  // levels ρ: weights ρ^0.5 = 0.5, 1, 2
  const DensityLoss loss(codec, 0.5, 0.0, torch::kCPU);
  const auto [logits, targets, hidden, weight] = two_sequences();
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

// The CRPS term: over the ordered levels, Σ_k (F_k − 1[target ≤ k])² (l_{k+1} − l_k) per hidden slot, averaged per
// sequence and divided by the sequence's mean true level; a near miss costs less than a far one, unlike cross-entropy.
TEST(DensityLoss, CrpsTermIsTheRelativeDistanceBetweenPredictedAndTrueDistributions) {
  const LmqCodec codec({0.25, 1.0, 4.0}, 5.0);
  const DensityLoss plain(codec, 0.5, 0.0, torch::kCPU), with_crps(codec, 0.5, 2.0, torch::kCPU);
  const auto [logits, targets, hidden, weight] = two_sequences();
  auto crps = [](std::vector<double> z, int t) {
    double s = 0;
    for (double x : z) s += std::exp(x);
    const double f0 = std::exp(z[0]) / s, f1 = f0 + std::exp(z[1]) / s;
    return std::pow(f0 - (t <= 0 ? 1 : 0), 2) * 0.75 + std::pow(f1 - (t <= 1 ? 1 : 0), 2) * 3.0;
  };
  const double seq0 = (crps({0, 1, 2}, 0) + crps({2, 0, 1}, 2)) / 2 / ((0.25 + 4.0) / 2);
  const double seq1 = crps({0.5, 0, 0}, 0) / ((1.0 + 0.25) / 2);
  const double extra = (with_crps(logits, targets, hidden, weight) - plain(logits, targets, hidden, weight)).item<double>();
  EXPECT_NEAR(extra, 2.0 * (1 * seq0 + 3 * seq1) / 2, 1e-5);
  // A distribution one bin off costs less than one two bins off.
  const auto near = torch::tensor({0.0f, 9.0f, 0.0f}).view({1, 1, 3}), far = torch::tensor({9.0f, 0.0f, 0.0f}).view({1, 1, 3});
  const auto t = torch::tensor({2L}).view({1, 1});
  const auto all = torch::ones({1, 1}, torch::kBool), one = torch::ones({1});
  const LmqCodec even({1.0, 2.0, 3.0}, 4.0);
  const DensityLoss crps_only(even, 0.0, 1.0, torch::kCPU), ce_only(even, 0.0, 0.0, torch::kCPU);
  EXPECT_NEAR((ce_only(near, t, all, one) - ce_only(far, t, all, one)).item<double>(), 0, 1e-4);
  EXPECT_LT((crps_only(near, t, all, one) - ce_only(near, t, all, one)).item<double>(),
            (crps_only(far, t, all, one) - ce_only(far, t, all, one)).item<double>());
}

}  // namespace
}  // namespace rhotrain
