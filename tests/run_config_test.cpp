#include <gtest/gtest.h>

#include "common/error.h"
#include "tests/test_support.h"
#include "trainer/run_config.h"

namespace rhotrain {
namespace {

using test::error_of;

const std::string kConfigs = std::string(RHOTRAIN_SOURCE_DIR) + "/configs/";

TEST(RunConfig, PhaseConfigsDifferInWeightingAlone) {
  RunConfig a, b;
  a.merge_file(kConfigs + "phase1_uniform.yaml");
  b.merge_file(kConfigs + "phase2_electrons.yaml");
  EXPECT_EQ(a.differences(b), std::vector<std::string>{"data.weighting"});
  EXPECT_EQ(a.get_string("data.weighting"), "uniform");
  EXPECT_EQ(b.get_string("data.weighting"), "electrons");
}

TEST(RunConfig, EveryShippedConfigLoads) {
  for (const char* name : {"smoke.yaml", "experiment.yaml", "phase1_uniform.yaml", "phase2_electrons.yaml", "gpu_30M.yaml", "gpu_200M.yaml"}) {
    RunConfig c;
    EXPECT_NO_THROW(c.merge_file(kConfigs + name)) << name;
  }
}

TEST(RunConfig, OverridesAreTypedAndTheResolvedFormRoundTrips) {
  RunConfig c;
  c.set("train.steps=250", "--set");
  c.set("data.store=[a.h5, b.h5]", "--set");
  c.set("data.codec=", "--set");
  c.set("train.lr=3e-4", "--set");
  c.set("model.geometry_bias=false", "--set");
  EXPECT_EQ(c.get_int("train.steps"), 250);
  EXPECT_EQ(c.get_list("data.store"), (std::vector<std::string>{"a.h5", "b.h5"}));
  EXPECT_DOUBLE_EQ(c.get_double("train.lr"), 3e-4);
  EXPECT_FALSE(c.get_bool("model.geometry_bias"));
  test::TempDir dir;
  test::write_file(dir.file("r.yaml"), c.to_yaml());
  const RunConfig back = RunConfig::from_resolved_file(dir.file("r.yaml"));
  EXPECT_TRUE(back.differences(c).empty()) << c.to_yaml();
}

TEST(RunConfig, UnknownKeysAndWrongTypesNameTheFileAndKey) {
  test::TempDir dir;
  test::write_file(dir.file("typo.yaml"), "train:\n  stepz: 10\n");
  EXPECT_NE(error_of([&] { RunConfig().merge_file(dir.file("typo.yaml")); }).find("typo.yaml: unknown config key 'train.stepz'"),
            std::string::npos);
  test::write_file(dir.file("type.yaml"), "train:\n  steps: ten\n");
  EXPECT_NE(error_of([&] { RunConfig().merge_file(dir.file("type.yaml")); }).find("type.yaml: train.steps: expected an integer, got 'ten'"),
            std::string::npos);
  test::write_file(dir.file("enum.yaml"), "data:\n  weighting: electron\n");
  EXPECT_NE(error_of([&] { RunConfig().merge_file(dir.file("enum.yaml")); }).find("must be one of uniform|electrons"),
            std::string::npos);
  EXPECT_NE(error_of([&] { RunConfig().set("train.batch_size=1.5", "--set"); }).find("expected an integer"), std::string::npos);
  EXPECT_NE(error_of([&] { RunConfig().set("nope.key=1", "--set"); }).find("unknown config key 'nope.key'"), std::string::npos);
}

TEST(RunConfig, ResumeMayChangeStepsAndLoggingOnly) {
  RunConfig saved, now;
  now.set("train.steps=5000", "--set");
  now.set("train.log_every=1", "--set");
  EXPECT_TRUE(now.resume_conflicts(saved).empty());
  now.set("train.lr=0.1", "--set");
  now.set("data.weighting=electrons", "--set");
  const auto c = now.resume_conflicts(saved);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_NE(c[0].find("data.weighting"), std::string::npos);
  EXPECT_NE(c[1].find("train.lr"), std::string::npos);
}

}  // namespace
}  // namespace rhotrain
