#include <gtest/gtest.h>

#include "common/error.h"
#include "tests/test_support.h"
#include "trainer/run_config.h"
#include "trainer/settings.h"

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
  for (const char* name : {"smoke.yaml", "experiment.yaml", "qe.yaml", "phase1_uniform.yaml", "phase2_electrons.yaml", "gpu_30M.yaml", "gpu_200M.yaml"}) {
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
  // Found by fuzzing: a YAML map as a key once escaped as yaml-cpp's "bad conversion", naming no file.
  test::write_file(dir.file("mapkey.yaml"), "data:\n  ? {patch: 6}\n  : 1\n");
  EXPECT_NE(error_of([&] { RunConfig().merge_file(dir.file("mapkey.yaml")); }).find("mapkey.yaml: line 2: a section or key name"),
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

TEST(RunConfig, MatchedArmsMayDifferInOperationalKeysAndThreadsButNotInSteps) {
  RunConfig a, b;
  b.set("data.weighting=electrons", "--set");
  b.set("train.threads=1", "--set");
  b.set("eval.batch_size=8", "--set");
  b.set("checkpoint.every=7", "--set");
  EXPECT_EQ(a.arm_differences(b), std::vector<std::string>{"data.weighting"});
  b.set("train.steps=5", "--set");
  EXPECT_EQ(a.arm_differences(b), (std::vector<std::string>{"data.weighting", "train.steps"}));
  // The weighting may not change on resume; threads may (a user on a busy machine needs that; the resume says what it
  // changes), and steps may grow.
  EXPECT_EQ(b.resume_conflicts(a).size(), 1u);
  EXPECT_EQ(RunConfig::resume_changeable_keys(),
            "data.workers, data.cache_bytes, train.steps, train.threads, train.dist_timeout_s, train.max_bad_steps, train.log_every, eval.*, "
            "checkpoint.*");
}

TEST(RunConfig, AMistypedKeyIsAUsageErrorThatSuggestsTheKey) {
  RunConfig c;
  for (const auto& [typo, suggestion] : std::vector<std::pair<std::string, std::string>>{
           {"train.lerning_rate=0.1", "train.lr"}, {"train.stepz=3", "train.steps"}, {"eval.strid=2", "eval.stride"}}) {
    try {
      c.set(typo, "--set");
      FAIL() << typo;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("did you mean '" + suggestion + "'"), std::string::npos) << e.what();
    }
  }
}

TEST(RunSettings, TypeEveryKeyOfTheExperimentConfig) {
  RunConfig c;
  c.merge_file(kConfigs + "experiment.yaml");
  c.set("model.kv_heads=2", "--set");
  c.set("train.schedule=wsd", "--set");
  const RunSettings s = run_settings(c);
  EXPECT_EQ(s.data.patch, 6);
  EXPECT_EQ(s.data.plan.weighting, "uniform");
  EXPECT_EQ(s.data.plan.seed, 0u);
  EXPECT_TRUE(s.data.residual);  // the residual target won on the synthetic set too (docs/experiment.md)
  EXPECT_EQ(s.model.preset, "tiny");
  const ModelConfig m = s.model.for_codec(256);
  EXPECT_EQ(m.d_model, 96);  // the tiny preset
  EXPECT_EQ(m.heads, 4);
  EXPECT_EQ(m.kv_heads, 2);  // an explicit key over the preset
  EXPECT_EQ(m.patch, 6);
  EXPECT_EQ(m.vocab, 2186 + 256);
  EXPECT_EQ(s.train.steps, 9000);
  EXPECT_DOUBLE_EQ(s.train.lr, 0.002);
  EXPECT_TRUE(s.train.wsd);
  EXPECT_EQ(s.eval.sets, std::vector<std::string>{"val_200"});
  EXPECT_EQ(s.eval.batch, 64);  // eval.batch_size's default reaches every evaluation
  EXPECT_EQ(s.checkpoint.every, 1000);
}

TEST(RunSettings, RefuseAShapeTheModelCannotTake) {
  RunConfig c;
  c.set("model.heads=5", "--set");
  EXPECT_NE(error_of([&] { run_settings(c); }).find("heads must divide d_model"), std::string::npos);
  RunConfig d;
  d.set("train.batch_size=0", "--set");
  EXPECT_NE(error_of([&] { run_settings(d); }).find("must be positive"), std::string::npos);
}

}  // namespace
}  // namespace rhotrain
