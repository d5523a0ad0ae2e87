// The learning-rate schedule: a linear warmup to lr, then a cosine decay to min_lr_ratio·lr at the last step, or
// (WSD) lr held until the cooldown, then a straight line down to the same floor.
#include <gtest/gtest.h>

#include "trainer/lr_schedule.h"

namespace rhotrain {
namespace {

TrainSettings schedule(bool wsd) {
  TrainSettings t;
  t.steps = 1000, t.warmup = 100, t.lr = 0.01, t.min_lr_ratio = 0.1, t.cooldown = 0.2, t.wsd = wsd;
  return t;
}

TEST(LearningRate, WarmsUpLinearlyThenFollowsACosineToTheFloor) {
  const TrainSettings t = schedule(false);
  EXPECT_DOUBLE_EQ(learning_rate(t, 0), 0.01 / 100);
  EXPECT_DOUBLE_EQ(learning_rate(t, 49), 0.01 * 50 / 100);
  EXPECT_DOUBLE_EQ(learning_rate(t, 100), 0.01);              // the peak, right after the warmup
  EXPECT_NEAR(learning_rate(t, 550), 0.001 + 0.009 / 2, 1e-12);  // halfway through the decay: halfway down
  EXPECT_NEAR(learning_rate(t, 1000), 0.001, 1e-12);           // the floor at the end, and after it
  EXPECT_NEAR(learning_rate(t, 5000), 0.001, 1e-12);
  for (int64_t s = 101; s <= 1000; ++s) EXPECT_LE(learning_rate(t, s), learning_rate(t, s - 1)) << s;
}

TEST(LearningRate, WsdHoldsThePeakUntilTheCooldownThenFallsLinearly) {
  const TrainSettings t = schedule(true);
  EXPECT_DOUBLE_EQ(learning_rate(t, 99), 0.01);
  EXPECT_DOUBLE_EQ(learning_rate(t, 500), 0.01);
  EXPECT_DOUBLE_EQ(learning_rate(t, 799), 0.01);  // the cooldown is the last 20 %: steps 800 … 1000
  EXPECT_NEAR(learning_rate(t, 900), 0.001 + 0.009 / 2, 1e-12);
  EXPECT_NEAR(learning_rate(t, 1000), 0.001, 1e-12);
}

}  // namespace
}  // namespace rhotrain
