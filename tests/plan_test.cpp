// The patch plan and stream: exact totals, exact expectations, electron proportionality, determinism,
// resume at any batch, and disjoint rank shares.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <set>

#include "common/random.h"
#include "sampler/patch_plan.h"
#include "sampler/patch_stream.h"
#include "sampler/weighting.h"

namespace rhotrain {
namespace {

std::vector<double> electron_counts(size_t n) {
  Rng rng(5);
  std::vector<double> ne;
  for (size_t i = 0; i < n; ++i) ne.push_back(std::round(std::exp(rng.uniform(std::log(2.0), std::log(3000.0)))));
  return ne;
}

PatchPlan plan_for(const std::string& weighting, size_t n, double m_bar, uint64_t seed,
                   WeightingMode mode = WeightingMode::sampling) {
  const auto strategy = make_weighting(weighting);
  std::vector<double> w;
  for (double ne : electron_counts(n)) w.push_back(strategy->weight(ne));
  std::vector<Grid> grids(n, Grid{20, 24, 31});
  return PatchPlan(w, grids, m_bar, mode, seed);
}

TEST(PatchPlan, EveryEpochHasExactlyTPatchesAndFloorOrCeilPerMaterial) {
  const PatchPlan plan = plan_for("electrons", 300, 16, 1);
  ASSERT_EQ(plan.epoch_size(), 4800u);
  for (uint64_t e = 0; e < 50; ++e) {
    const auto c = plan.counts(e);
    EXPECT_EQ(std::accumulate(c.begin(), c.end(), uint64_t{0}), 4800u);
    for (size_t i = 0; i < c.size(); ++i) {
      const double m = plan.expected_counts()[i];
      ASSERT_TRUE(c[i] == std::floor(m) || c[i] == std::ceil(m)) << i << ": " << c[i] << " vs " << m;
    }
  }
}

TEST(PatchPlan, ExpectationPerMaterialIsExactAcrossEpochs) {
  const PatchPlan plan = plan_for("electrons", 200, 4, 2);
  const int epochs = 4000;
  std::vector<double> mean(200, 0);
  for (int e = 0; e < epochs; ++e) {
    const auto c = plan.counts(static_cast<uint64_t>(e));
    for (size_t i = 0; i < c.size(); ++i) mean[i] += c[i] / double(epochs);
  }
  // Each count is ⌊M⌋ + Bernoulli(frac M): the mean's standard error is at most 0.5/√4000 ≈ 0.008.
  for (size_t i = 0; i < mean.size(); ++i) EXPECT_NEAR(mean[i], plan.expected_counts()[i], 0.04) << i;
}

TEST(PatchPlan, ElectronSharesAreProportionalToElectronCount) {
  const auto ne = electron_counts(500);
  const PatchPlan plan = plan_for("electrons", 500, 64, 0);
  const double total_ne = std::accumulate(ne.begin(), ne.end(), 0.0);
  for (size_t i = 0; i < ne.size(); ++i) EXPECT_NEAR(plan.expected_counts()[i], 64.0 * 500 * ne[i] / total_ne, 1e-9);
  const PatchPlan uniform = plan_for("uniform", 500, 64, 0);
  for (double m : uniform.expected_counts()) EXPECT_DOUBLE_EQ(m, 64.0);
  for (uint32_t c : uniform.counts(3)) EXPECT_EQ(c, 64u);
}

TEST(PatchPlan, LossModeKeepsUniformCountsAndWeightsLossesByMeanOne) {
  const PatchPlan plan = plan_for("electrons", 100, 8, 0, WeightingMode::loss);
  for (uint32_t c : plan.counts(0)) EXPECT_EQ(c, 8u);
  const auto ne = electron_counts(100);
  const double mean_ne = std::accumulate(ne.begin(), ne.end(), 0.0) / 100;
  double sum = 0;
  for (uint32_t i = 0; i < 100; ++i) {
    EXPECT_NEAR(plan.loss_weight(i), ne[i] / mean_ne, 1e-5);
    sum += plan.loss_weight(i);
  }
  EXPECT_NEAR(sum / 100, 1.0, 1e-5);
}

TEST(PatchPlan, EpochIsAPureFunctionOfSeedAndEpoch) {
  const PatchPlan a = plan_for("electrons", 50, 8, 7), b = plan_for("electrons", 50, 8, 7), c = plan_for("electrons", 50, 8, 8);
  const auto ea = a.epoch(3), eb = b.epoch(3), ec = c.epoch(3), e4 = a.epoch(4);
  ASSERT_EQ(ea.size(), eb.size());
  bool same_as_other_seed = true, same_as_next_epoch = true;
  for (size_t i = 0; i < ea.size(); ++i) {
    ASSERT_EQ(ea[i].material, eb[i].material);
    ASSERT_EQ(ea[i].origin, eb[i].origin);
    same_as_other_seed &= ea[i].material == ec[i].material && ea[i].origin == ec[i].origin;
    same_as_next_epoch &= ea[i].material == e4[i].material && ea[i].origin == e4[i].origin;
    for (int d = 0; d < 3; ++d) {
      ASSERT_GE(ea[i].origin[d], 0);
      ASSERT_LT(ea[i].origin[d], (Grid{20, 24, 31})[d]);
    }
  }
  EXPECT_FALSE(same_as_other_seed);
  EXPECT_FALSE(same_as_next_epoch);
  // The epoch list holds each material exactly counts(e)[i] times.
  std::vector<uint32_t> seen(50, 0);
  for (const auto& e : ea) ++seen[e.material];
  EXPECT_EQ(seen, a.counts(3));
}

TEST(PatchStream, AnyPositionCanBeRecomputedFromScratch) {
  const PatchPlan plan = plan_for("electrons", 40, 5, 3);
  const PatchStream stream(plan);
  const uint64_t T = plan.epoch_size();
  // Read the stream in order across three epochs, then random-access the same positions in a fresh stream.
  std::vector<PlanEntry> in_order;
  for (uint64_t p = 0; p < 3 * T; ++p) in_order.push_back(stream.at(p));
  const PatchStream fresh(plan);
  Rng rng(1);
  for (int i = 0; i < 500; ++i) {
    const uint64_t p = rng.below(3 * T);
    ASSERT_EQ(fresh.at(p).material, in_order[p].material);
    ASSERT_EQ(fresh.at(p).origin, in_order[p].origin);
  }
  EXPECT_EQ(stream.at(T + 5).material, plan.epoch(1)[5].material);
}

}  // namespace
}  // namespace rhotrain
