// `rhotrain train` end to end on a tiny store: exact resume, refusal of changed configs and bad input
// (with the run directory left untouched), a clean stop on SIGTERM, and `rhotrain logs` on the result.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <thread>
#include <nlohmann/json.hpp>

#include "materials/store.h"
#include "models/density_transformer.h"
#include "models/torch_compat.h"
#include "tests/tb_reference_decoder.h"
#include "tests/test_support.h"
#include "trainer/checkpoint.h"
#include "trainer/evaluator.h"
#include "trainer/events.h"
#include "trainer/run_config.h"
#include "trainer/settings.h"

namespace rhotrain {
namespace {

namespace fs = std::filesystem;
using test::run_rhotrain;
using test::TempDir;

class Train : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    ASSERT_EQ(run_rhotrain("synth --out " + dir_->file("s.h5") + " --n-train 16 --n-val 4 --seed 8").exit_code, 0);
    // Four of the training materials as a set of their own: elements the atomic-density fit has seen (with 16 training
    // materials, val_200 holds elements it has not, for which the atomic baseline is not available).
    const auto train = MaterialStore({dir_->file("s.h5")}, 0).split("train");
    update_store(dir_->file("s.h5"), [&](StoreWriter& w) { w.write_split("seen", {train.begin(), train.begin() + 4}); });
    // A model small enough that a step takes milliseconds; checkpoints every 3 steps.
    test::write_file(dir_->file("tiny.yaml"),
                     "data:\n  store: [" + dir_->file("s.h5") + "]\n  patch: 4\n  codec_bins: 32\n  max_len: 600\n"
                     "  patches_per_mat: 2\nmodel:\n  preset: tiny\n  d_model: 32\n  layers: 1\n  heads: 2\n  ffn: 64\n"
                     "train:\n  steps: 6\n  batch_size: 4\n  warmup: 2\n  log_every: 1\n  threads: 1\n"
                     "eval:\n  sets: []\n"
                     "checkpoint:\n  every: 3\n  keep: 5\n");
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string config() { return dir_->file("tiny.yaml"); }
  static TempDir* dir_;
};
TempDir* Train::dir_ = nullptr;

// A stopped rhotrain process: its exit code (-1 when a signal ended it) and how long it took to exit once asked.
struct Stopped {
  int exit_code = -1;
  double seconds = 0;
};

// Runs rhotrain with `args` (in folder `cwd` when given, stderr to `log`), waits until `ready()` holds (60 s at most),
// sends `signal` and waits for the process to end.
Stopped stop_rhotrain_when(const std::vector<std::string>& args, const std::string& log, const std::function<bool()>& ready,
                           int signal, const std::string& cwd = "") {
  const pid_t pid = fork();
  if (pid == 0) {
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    freopen(log.c_str(), "w", stderr);
    std::vector<char*> argv{const_cast<char*>(RHOTRAIN_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(RHOTRAIN_BINARY, argv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!ready() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto sent = std::chrono::steady_clock::now();
  kill(pid, signal);
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count()};
}

// A readiness condition: `text` has appeared in the file `log`.
std::function<bool()> logged(const std::string& log, const std::string& text) {
  return [=] { return test::read_file(log).find(text) != std::string::npos; };
}

std::map<int64_t, double> losses(const std::string& run_dir) {
  std::map<int64_t, double> out;
  for (const auto& f : event_files(run_dir))
    for (const auto& p : read_event_file(f).scalars)
      if (p.tag == "train/loss") {
        EXPECT_EQ(out.count(p.step), 0u) << "step " << p.step << " logged twice";
        out[p.step] = p.value;
      }
  return out;
}

std::vector<torch::Tensor> weights(const std::string& checkpoint_dir, const RunConfig& config) {
  DensityTransformer model(run_settings(config).model.for_codec(32));
  load_model(checkpoint_dir, model);
  std::vector<torch::Tensor> out;
  for (const auto& p : model->parameters()) out.push_back(p.detach().clone());
  return out;
}

// A run of `target` trained straight through, and the same run stopped at step 3 and resumed, log bit-identical losses
// and end with identical weights.
void expect_resume_is_exact(const std::string& config, const std::string& target) {
  TempDir runs;
  const std::string common = "train --config " + config + " --set data.target=" + target;
  const auto straight = run_rhotrain(common + " --run-dir " + runs.file("straight"));
  ASSERT_EQ(straight.exit_code, 0) << straight.err;
  EXPECT_NE(straight.err.find("budget 6 steps x 4 = 24 sequences"), std::string::npos) << straight.err;

  // As if killed after its step-3 checkpoint: the same run with its last checkpoint removed.
  ASSERT_EQ(run_rhotrain(common + " --run-dir " + runs.file("split")).exit_code, 0);
  fs::remove_all(runs.file("split/checkpoints/step-6"));
  const auto resumed = run_rhotrain(common + " --run-dir " + runs.file("split") + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("resuming from"), std::string::npos);

  const auto a = losses(runs.file("straight")), b = losses(runs.file("split"));
  ASSERT_EQ(a.size(), 6u);
  EXPECT_EQ(a, b);  // bit-identical loss at every step, each step logged once
  // The independent decoder reads the resumed run's single event file: every CRC verifies.
  ASSERT_EQ(event_files(runs.file("split")).size(), 1u);
  std::string version;
  size_t records = 0;
  const auto scalars = test::decode_file(event_files(runs.file("split")).front(), version, records);
  EXPECT_EQ(version, "brain.Event:2");
  int loss_points = 0;
  for (const auto& p : scalars)
    if (p.tag == "train/loss") {
      EXPECT_FLOAT_EQ(p.value, static_cast<float>(b.at(p.step)));
      ++loss_points;
    }
  EXPECT_EQ(loss_points, 6);
  RunConfig c;
  c.merge_file(config);
  c.set("data.target", target, "test");
  const auto wa = weights(checkpoint_at(runs.file("straight"), 6), c), wb = weights(checkpoint_at(runs.file("split"), 6), c);
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_TRUE(torch::equal(wa[i], wb[i])) << "parameter " << i;
  EXPECT_EQ(read_train_state(checkpoint_at(runs.file("split"), 6)).position, 24u);
  // The run and every checkpoint carry the atomic-density fit and a codec of what the tokens encode.
  EXPECT_TRUE(fs::exists(runs.file("split/atoms.h5")));
  EXPECT_TRUE(read_checkpoint_atoms(checkpoint_at(runs.file("split"), 6)) != nullptr);
  EXPECT_EQ(read_checkpoint_codec(checkpoint_at(runs.file("split"), 3)).target, target);
}

TEST_F(Train, ResumedRunMatchesStraightRunExactly) { expect_resume_is_exact(config(), "density"); }

// A finished run given more steps continues at its schedule's final rate, and says so; it does not restart a schedule.
TEST_F(Train, AFinishedRunExtendedWithMoreStepsKeepsItsFinalLearningRate) {
  TempDir runs;
  const std::string run = runs.file("r");
  ASSERT_EQ(run_rhotrain("train --config " + config() + " --run-dir " + run).exit_code, 0);
  const auto more = run_rhotrain("train --run-dir " + run + " --resume --steps 9");
  ASSERT_EQ(more.exit_code, 0) << more.err;
  EXPECT_NE(more.err.find("extending a finished run from 6 to 9 steps"), std::string::npos) << more.err;
  std::map<int64_t, double> lr;
  for (const auto& f : event_files(run))
    for (const auto& p : read_event_file(f).scalars)
      if (p.tag == "train/lr") lr[p.step] = p.value;
  ASSERT_EQ(lr.size(), 9u);
  EXPECT_EQ(lr.at(9), lr.at(7));  // constant at the floor the schedule decayed to
  EXPECT_LE(lr.at(7), lr.at(6));
  EXPECT_LT(lr.at(6), lr.at(3));
}

// The residual target learns ρ − ρ_atoms over a signed codec; it resumes as exactly, and scores against the true ρ.
TEST_F(Train, AResidualRunResumesExactlyAndScoresTheDensityItDecodes) {
  expect_resume_is_exact(config(), "residual");
  TempDir runs;
  const std::string run = runs.file("r");
  const auto r = run_rhotrain("train --config " + config() + " --set data.target=residual --set train.mask=all --set eval.sets=[seen] --run-dir " + run);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(test::read_file(run + "/eval/seen/step-6.json"));
  for (const auto& m : j["materials"]) {
    // The floor is what the residual codec gives back over the baseline: far below the atomic baseline itself.
    EXPECT_LT(m["floor_nmae"].get<double>(), 0.5 * m["atomic_baseline_nmae"].get<double>()) << m["id"];
    EXPECT_GT(m["nmae"].get<double>(), m["floor_nmae"].get<double>());
  }
  const auto e = run_rhotrain("eval --run " + run + " --split seen --out " + runs.file("again.json"));
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(nlohmann::json::parse(test::read_file(runs.file("again.json")))["aggregates"]["per_mat_mean"], j["aggregates"]["per_mat_mean"]);
  // The residual target cannot predict a material with an element the fit never saw: skipped, and said so.
  const auto val = run_rhotrain("eval --run " + run + " --split val_200");
  if (val.exit_code == 0) EXPECT_NE(val.err.find("an element the atomic-density fit never saw"), std::string::npos) << val.err;
  else EXPECT_NE(val.err.find("no material can be"), std::string::npos) << val.err;
}

// A run made before the atomic baseline existed (no atoms.h5, no data.target in its config) still loads and scores as
// before, with the atomic baseline not available.
TEST_F(Train, ARunFromBeforeTheAtomicBaselineStillEvaluates) {
  TempDir runs;
  const std::string run = runs.file("old");
  ASSERT_EQ(run_rhotrain("train --config " + config() + " --set eval.sets=[val_200] --run-dir " + run).exit_code, 0);
  const auto before = nlohmann::json::parse(test::read_file(run + "/eval/val_200/step-6.json"));
  fs::remove(run + "/atoms.h5");
  for (const auto& c : fs::directory_iterator(run + "/checkpoints")) {
    fs::remove(c.path() / "atoms.h5");
    std::string yaml = test::read_file((c.path() / "config.yaml").string());
    for (const char* key : {"  target: \"density\"\n", "  atoms: \"\"\n", "  mask: \"cosine\"\n"}) {
      ASSERT_NE(yaml.find(key), std::string::npos) << key;
      yaml.erase(yaml.find(key), std::string(key).size());
    }
    test::write_file((c.path() / "config.yaml").string(), yaml);
  }
  const auto e = run_rhotrain("eval --run " + run + " --out " + runs.file("old.json"));
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const auto j = nlohmann::json::parse(test::read_file(runs.file("old.json")));
  EXPECT_EQ(j["aggregates"]["per_mat_mean"], before["aggregates"]["per_mat_mean"]);
  EXPECT_TRUE(j["aggregates"]["atomic_baseline"]["per_mat_mean"].is_null());
  EXPECT_NE(e.out.find(" n/a "), std::string::npos) << e.out;
}

TEST_F(Train, ResumeWithAChangedConfigIsRefusedNamingTheKeys) {
  TempDir runs;
  const std::string run = runs.file("r");
  ASSERT_EQ(run_rhotrain("train --config " + config() + " --steps 3 --run-dir " + run).exit_code, 0);
  const auto before = fs::last_write_time(run + "/config.yaml");
  const auto r = run_rhotrain("train --config " + config() + " --run-dir " + run + " --resume --set train.lr=0.5 --weighting electrons");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("data.weighting (uniform -> electrons)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("train.lr"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  EXPECT_EQ(fs::last_write_time(run + "/config.yaml"), before);
  // More steps is allowed.
  EXPECT_EQ(run_rhotrain("train --config " + config() + " --run-dir " + run + " --resume --steps 4").exit_code, 0);
  // A codec with other bins than the checkpoint's is refused.
  const auto bins = run_rhotrain("train --config " + config() + " --run-dir " + run + " --resume --set data.codec_bins=64");
  EXPECT_NE(bins.err.find("data.codec_bins (32 -> 64)"), std::string::npos) << bins.err;
  // A fresh run into an existing run directory is refused.
  const auto again = run_rhotrain("train --config " + config() + " --run-dir " + run);
  EXPECT_NE(again.err.find("already holds a run"), std::string::npos);
}

TEST_F(Train, BadInputLeavesNoRunDirectory) {
  TempDir runs;
  const std::string run = runs.file("bad");
  struct Case {
    std::string args, message;
  };
  test::write_file(runs.file("unknown.yaml"), "train:\n  stepz: 3\n");
  const std::vector<Case> cases = {
      {"--config " + runs.file("unknown.yaml"), "unknown config key 'train.stepz'"},
      {"--config " + config() + " --set train.steps=many", "train.steps: expected an integer"},
      {"--config " + config() + " --set data.store=[" + runs.file("missing.h5") + "]", "missing.h5: no such file"},
      {"--config " + config() + " --set data.split_train=test", "no split 'test'"},
      {"--config " + config() + " --set eval.sets=[val_500]", "no split 'val_500'"},  // found at once, not at step 3
      {"--config " + config() + " --set data.patches_per_mat=0", "data.patches_per_mat must be positive"},
      {"--config " + dir_->path(), "is a directory, not a config file"},
      {"--config " + config() + " --set data.codec=" + runs.file("codec.h5") + " --set data.codec_bins=16", ""},
  };
  for (size_t i = 0; i + 1 < cases.size(); ++i) {
    const auto r = run_rhotrain("train " + cases[i].args + " --run-dir " + run);
    EXPECT_NE(r.exit_code, 0) << cases[i].args;
    EXPECT_NE(r.err.find(cases[i].message), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_FALSE(fs::exists(run)) << cases[i].args;
  }
  // A cached codec whose bins differ from data.codec_bins is refused.
  ASSERT_EQ(run_rhotrain("fit-codec --store " + dir_->file("s.h5") + " --bins 64 -o " + runs.file("codec.h5")).exit_code, 0);
  const auto r = run_rhotrain("train " + cases.back().args + " --run-dir " + run);
  EXPECT_NE(r.err.find("codec has 64 bins but data.codec_bins is 16"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(run));
}

// train.precision and train.attention choose how the model runs and the run line says which; bf16 trains on the CPU
// too. Fused attention needs LibTorch 2.1, and a LibTorch without it refuses the key before writing anything.
TEST_F(Train, PrecisionAndAttentionAreChosenAnnouncedAndRefusedWhereUnavailable) {
  TempDir runs;
  const auto bf16 = run_rhotrain("train --config " + config() + " --run-dir " + runs.file("bf16") +
                                 " --set train.precision=bf16 --set train.attention=explicit --steps 3");
  ASSERT_EQ(bf16.exit_code, 0) << bf16.err;
  EXPECT_NE(bf16.err.find("bf16, explicit attention (LibTorch " + torch_version()), std::string::npos) << bf16.err;
  for (const auto& [step, loss] : losses(runs.file("bf16"))) EXPECT_TRUE(std::isfinite(loss)) << "step " << step;

  const auto fused = run_rhotrain("train --config " + config() + " --run-dir " + runs.file("fused") + " --set train.attention=fused --steps 3");
  if (fused_attention_available()) {
    EXPECT_EQ(fused.exit_code, 0) << fused.err;
    EXPECT_NE(fused.err.find("fp32, fused attention"), std::string::npos) << fused.err;
  } else {
    EXPECT_NE(fused.exit_code, 0);
    EXPECT_NE(fused.err.find("train.attention=fused needs LibTorch 2.1 or newer; this is " + torch_version()), std::string::npos) << fused.err;
    EXPECT_FALSE(fs::exists(runs.file("fused")));
  }
  const auto fp16 = run_rhotrain("train --config " + config() + " --run-dir " + runs.file("fp16") + " --set train.precision=fp16");
  EXPECT_NE(fp16.err.find("train.precision: must be one of auto|fp32|bf16, not 'fp16'"), std::string::npos) << fp16.err;
}

// A store on a read-only filesystem (a cluster's shared dataset): the codec cannot be cached beside it, so the run
// keeps it in its own directory and says so, instead of failing.
TEST_F(Train, AStoreOnAReadOnlyFilesystemTrainsWithTheCodecInTheRunDirectory) {
  TempDir ro, runs;
  if (std::system(("mount -t tmpfs -o size=8m tmpfs " + ro.path() + " 2>/dev/null").c_str()) != 0)
    GTEST_SKIP() << "mounting a read-only filesystem needs root";
  struct Unmount {
    std::string path;
    ~Unmount() { std::system(("umount " + path).c_str()); }
  } unmount{ro.path()};
  fs::copy_file(dir_->file("s.h5"), ro.file("s.h5"));
  ASSERT_EQ(std::system(("mount -o remount,ro " + ro.path()).c_str()), 0);
  const auto r = run_rhotrain("train --config " + config() + " --steps 3 --set data.store=[" + ro.file("s.h5") +
                              "] --run-dir " + runs.file("r"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("codec on split 'train': not cached"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(runs.file("r/codec.h5")));
  EXPECT_EQ(ro.entries(), std::vector<std::string>{"s.h5"});
}

TEST_F(Train, SigtermFinishesTheStepWritesACheckpointAndExitsZero) {
  TempDir runs;
  const std::string run = runs.file("sig");
  // Stopped once it is training (the first checkpoint appears after 3 steps).
  const Stopped stopped = stop_rhotrain_when({"train", "--config", config(), "--steps", "100000", "--set", "train.lr=0.003", "--run-dir", run},
                                             runs.file("log"), [&] { return latest_checkpoint(run).has_value(); }, SIGTERM);
  EXPECT_EQ(stopped.exit_code, 0);
  ASSERT_TRUE(latest_checkpoint(run));
  const std::string log = test::read_file(runs.file("log"));
  const size_t at = log.find("resume with: rhotrain ");
  ASSERT_NE(at, std::string::npos) << log;
  const TrainState s = read_train_state(*latest_checkpoint(run));
  EXPECT_GE(s.step, 3);
  EXPECT_EQ(losses(run).rbegin()->first, s.step);  // the log ends at the checkpointed step
  // The printed command works as printed, although the run was started with a --set it does not repeat.
  const std::string printed = log.substr(at + 22, log.find('\n', at) - at - 22);
  const auto resumed = run_rhotrain(printed + " --steps " + std::to_string(s.step + 2));
  ASSERT_EQ(resumed.exit_code, 0) << printed << ": " << resumed.err;
  EXPECT_EQ(read_train_state(*latest_checkpoint(run)).step, s.step + 2);
}

TEST_F(Train, LogsPrintsLastAndBestFromTheEventFiles) {
  TempDir runs;
  ASSERT_EQ(run_rhotrain("train --config " + config() + " --run-dir " + runs.file("a")).exit_code, 0);
  ASSERT_EQ(run_rhotrain("train --config " + config() + " --weighting electrons --run-dir " + runs.file("b")).exit_code, 0);
  const auto table = run_rhotrain("logs " + runs.file("a") + " " + runs.file("b") + " --tag loss");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("train/loss"), std::string::npos);
  EXPECT_EQ(table.out.find("train/lr"), std::string::npos);
  const auto json = run_rhotrain("logs " + runs.file("a") + " --format json");
  const auto j = nlohmann::json::parse(json.out);
  const auto a = losses(runs.file("a"));
  EXPECT_EQ(j[runs.file("a")]["train/loss"]["last_step"].get<int64_t>(), 6);
  EXPECT_FLOAT_EQ(j[runs.file("a")]["train/loss"]["last"].get<float>(), static_cast<float>(a.at(6)));
  double best = 1e9;
  for (const auto& [s, v] : a) best = std::min(best, v);
  EXPECT_FLOAT_EQ(j[runs.file("a")]["train/loss"]["best"].get<float>(), static_cast<float>(best));
  const auto csv = run_rhotrain("logs " + runs.file("a") + " --series --format csv --tag 'train/loss$'");
  EXPECT_EQ(std::count(csv.out.begin(), csv.out.end(), '\n'), 7);  // header + 6 steps
  const auto series = run_rhotrain("logs " + runs.file("a") + " --series --tag train/loss");
  EXPECT_EQ(series.out.rfind("run ", 0), 0u) << "a header line first: " << series.out;
  // The gradient norm has no "best"; the learning rate neither.
  EXPECT_TRUE(j[runs.file("a")]["train/grad_norm"]["best"].is_null());
  const auto all = run_rhotrain("logs " + runs.file("a") + " --tag grad_norm");
  EXPECT_NE(all.out.find(" -"), std::string::npos) << all.out;
  // Nothing to show is an error that says what there is.
  const auto none = run_rhotrain("logs " + runs.file("a") + " --tag nosuchtag");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no scalar tag matches --tag 'nosuchtag' (the runs' tags: "), std::string::npos) << none.err;
  TempDir nothing;
  const auto empty = run_rhotrain("logs " + nothing.path());
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("no TensorBoard event file"), std::string::npos) << empty.err;
  // A folder of runs shows each run below it, as tensorboard --logdir does, with the progress line's smoothed loss.
  const auto folder = run_rhotrain("logs " + runs.path() + " --tag loss");
  ASSERT_EQ(folder.exit_code, 0) << folder.err;
  EXPECT_NE(folder.out.find(runs.file("a")), std::string::npos) << folder.out;
  EXPECT_NE(folder.out.find(runs.file("b")), std::string::npos) << folder.out;
  EXPECT_NE(folder.out.find("train/loss_smoothed"), std::string::npos) << folder.out;

  // A file still being written: a cut last record is ignored with a note, not an error.
  const std::string file = event_files(runs.file("a")).front();
  const std::string whole = test::read_file(file);
  test::write_file(file, whole.substr(0, whole.size() - 5));
  const auto cut = run_rhotrain("logs " + runs.file("a"));
  EXPECT_EQ(cut.exit_code, 0);
  EXPECT_NE(cut.err.find("still being written"), std::string::npos);
}

TEST_F(Train, InLoopEvaluationWritesJsonAndScalarsAndEvalCommandReproducesIt) {
  TempDir runs;
  const std::string run = runs.file("e");
  const auto r = run_rhotrain("train --config " + config() + " --run-dir " + run + " --set eval.sets=[seen]");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("eval seen step 3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("% of training time"), std::string::npos);
  const std::string json_path = run + "/eval/seen/step-6.json";
  ASSERT_TRUE(fs::exists(json_path));
  const auto j = nlohmann::json::parse(test::read_file(json_path));
  EXPECT_EQ(j["set"], "seen");
  EXPECT_EQ(j["mode"], "maskgit:1");
  ASSERT_EQ(j["materials"].size(), 4u);  // every material of the set, every voxel
  for (const auto& m : j["materials"]) {
    EXPECT_NEAR(m["nmae"].get<double>(), m["sum_abs_err"].get<double>() / m["sum_abs_true"].get<double>(), 1e-12);
    EXPECT_GT(m["floor_nmae"].get<double>(), 0.0);
    EXPECT_GT(m["uniform_baseline_nmae"].get<double>(), m["floor_nmae"].get<double>());
    EXPECT_GT(m["atomic_baseline_nmae"].get<double>(), 0.0);
    EXPECT_LT(m["atomic_baseline_nmae"].get<double>(), m["uniform_baseline_nmae"].get<double>());
  }
  EXPECT_LT(j["aggregates"]["atomic_baseline"]["per_mat_mean"].get<double>(), j["aggregates"]["uniform_baseline"]["per_mat_mean"].get<double>());
  EXPECT_EQ(j["aggregates"]["deciles"].size(), 10u);
  bool logged = false;
  bool atomic_logged = false;
  for (const auto& f : event_files(run))
    for (const auto& p : read_event_file(f).scalars) {
      logged |= p.tag == "eval/seen/nmae_per_mat_mean" && p.step == 6 &&
                std::fabs(p.value - j["aggregates"]["per_mat_mean"]["value"].get<double>()) < 1e-6;
      atomic_logged |= p.tag == "eval/seen/atomic_baseline_nmae_per_mat_mean" && p.step == 6 &&
                       std::fabs(p.value - j["aggregates"]["atomic_baseline"]["per_mat_mean"].get<double>()) < 1e-6;
    }
  EXPECT_TRUE(logged);
  EXPECT_TRUE(atomic_logged);
  EXPECT_NE(r.err.find("model / atomic baseline (per-material mean)"), std::string::npos) << r.err;

  // The same checkpoint evaluated offline gives the same numbers.
  const auto e = run_rhotrain("eval --run " + run + " --split seen --step 6 --out " + runs.file("again.json"));
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const auto k = nlohmann::json::parse(test::read_file(runs.file("again.json")));
  EXPECT_EQ(k["aggregates"]["per_mat_mean"], j["aggregates"]["per_mat_mean"]);
  // A standalone evaluation logs its scalars beside the training's, in an event file of its own that logs reads.
  const auto stride = run_rhotrain("eval --run " + run + " --split seen --stride 2");
  ASSERT_EQ(stride.exit_code, 0) << stride.err;
  const auto standalone = run_rhotrain("logs " + run + " --tag 'seen/stride-2/nmae_per_mat_mean' --format json");
  ASSERT_EQ(standalone.exit_code, 0) << standalone.err;
  EXPECT_EQ(nlohmann::json::parse(standalone.out)[run]["eval/seen/stride-2/nmae_per_mat_mean"]["last_step"], 6) << standalone.out;
  const auto bad = run_rhotrain("eval --run " + run + " --mode teacher_forced");
  EXPECT_NE(bad.err.find("teacher_forced is for causal models"), std::string::npos) << bad.err;
}

TEST_F(Train, CausalRunEvaluatesFreeRunningInLoopAndTeacherForcedOffline) {
  TempDir runs;
  const std::string run = runs.file("c");
  const auto r = run_rhotrain("train --config " + config() + " --run-dir " + run +
                              " --set model.objective=causal --set eval.mode=free_running --set eval.sets=[val_200]");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto free = nlohmann::json::parse(test::read_file(run + "/eval/val_200/step-6.json"));
  EXPECT_EQ(free["mode"], "free_running");
  EXPECT_EQ(free["materials"].size(), 4u);
  const auto e = run_rhotrain("eval --run " + run + " --mode teacher_forced --out " + runs.file("tf.json"));
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const auto forced = nlohmann::json::parse(test::read_file(runs.file("tf.json")));
  EXPECT_EQ(forced["mode"], "teacher_forced");
  EXPECT_EQ(forced["materials"].size(), 4u);
  const auto bad = run_rhotrain("eval --run " + run + " --mode maskgit:1");
  EXPECT_NE(bad.err.find("maskgit:K is for masked models"), std::string::npos) << bad.err;
}

TEST_F(Train, CompareWritesTheReportForMatchedRunsAndRefusesUnmatchedOnes) {
  TempDir runs;
  const std::string common = "train --config " + config() + " --set eval.sets=[val_200] --set checkpoint.every=6";
  ASSERT_EQ(run_rhotrain(common + " --run-dir " + runs.file("u")).exit_code, 0);
  ASSERT_EQ(run_rhotrain(common + " --weighting electrons --run-dir " + runs.file("e")).exit_code, 0);
  ASSERT_EQ(run_rhotrain(common + " --set train.lr=0.01 --weighting electrons --run-dir " + runs.file("x")).exit_code, 0);

  // Argument order does not matter: A is always the uniform run.
  const auto r = run_rhotrain("compare " + runs.file("e") + " " + runs.file("u") + " -o " + runs.file("rep/report.md"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("per-electron"), std::string::npos);
  const std::string report = test::read_file(runs.file("rep/report.md"));
  EXPECT_NE(report.find("A = `" + runs.file("u") + "` (uniform)"), std::string::npos) << report;
  EXPECT_NE(report.find("Matched: same architecture"), std::string::npos);
  EXPECT_NE(report.find("6 steps × global batch 4 = 24 sequences"), std::string::npos);
  for (const char* h : {"| H1 |", "| H2 |", "| H3 |", "## Outcome", "codec floor", "report-deciles.svg", "atomic baseline"})
    EXPECT_NE(report.find(h), std::string::npos) << h;
  // One seed per arm: the report and the headline say the verdicts ignore seed noise, how to add seeds, and never "clearly".
  EXPECT_NE(report.find("One seed per arm: these verdicts ignore training-seed variance"), std::string::npos) << report;
  EXPECT_NE(report.find("rhotrain experiment --seeds 2"), std::string::npos);
  EXPECT_EQ(report.find("clearly"), std::string::npos) << report;
  EXPECT_NE(r.out.find("One seed per arm"), std::string::npos) << r.out;
  // Both NMAE plots show the codec floor beside the arms, and the atomic baseline where the set has it (val_200 here
  // holds elements the fit never saw; the split "seen" does not).
  for (const char* plot : {"rep/report-nmae-vs-ne.svg", "rep/report-deciles.svg"})
    EXPECT_NE(test::read_file(runs.file(plot)).find(">codec floor<"), std::string::npos) << plot;
  for (const char* run : {"u", "e"}) ASSERT_EQ(run_rhotrain("eval --run " + runs.file(run) + " --split seen").exit_code, 0);
  ASSERT_EQ(run_rhotrain("compare " + runs.file("u") + " " + runs.file("e") + " --split seen -o " + runs.file("seen/report.md")).exit_code, 0);
  for (const char* plot : {"seen/report-nmae-vs-ne.svg", "seen/report-deciles.svg"})
    for (const char* reference : {">codec floor<", ">atomic baseline<"})
      EXPECT_NE(test::read_file(runs.file(plot)).find(reference), std::string::npos) << plot << " " << reference;
  // The best, median and worst material of each arm, drawn from its checkpoint.
  for (const char* arm : {"uniform", "electrons"})
    for (const char* which : {"best", "median", "worst"}) {
      const std::string picture = std::string("report-pictures/") + arm + "-" + which + ".png";
      EXPECT_NE(report.find("](" + picture + ")"), std::string::npos) << picture;
      EXPECT_EQ(test::read_file(runs.file("rep/" + picture)).substr(1, 3), "PNG") << picture;
    }

  const auto refused = run_rhotrain("compare " + runs.file("u") + " " + runs.file("x") + " -o " + runs.file("r2.md"));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("not matched (train.lr)"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(runs.file("r2.md")));
  EXPECT_EQ(run_rhotrain("compare " + runs.file("u") + " " + runs.file("x") + " --force -o " + runs.file("r2.md")).exit_code, 0);
  EXPECT_NE(test::read_file(runs.file("r2.md")).find("NOT matched"), std::string::npos);
}

// Two seeds per arm (the default), trained side by side as single-threaded `train` processes.
TEST_F(Train, ExperimentRunsBothPhasesWithTwoSeedsSideBySideAndWritesTheReport) {
  TempDir out;
  const std::string cmd = "experiment --config " + config() + " --set eval.sets=[val_200] --set train.threads=0 --out " + out.path() +
                          " --fixtures " + RHOTRAIN_FIXTURES_DIR + " --parallel 2";
  const auto r = run_rhotrain(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("== Phase 0"), std::string::npos);
  EXPECT_NE(r.err.find("2 at a time, each a single-threaded process"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("report: " + out.file("report.md")), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("noise control (uniform seed 1 - seed 0)"), std::string::npos) << r.out;
  const std::string report = test::read_file(out.file("report.md"));
  for (const char* part : {"Matched: same architecture", "seeds 0, 1", "## Per seed", "## Noise control: seed 1 − seed 0 of the uniform arm",
                           "| Si_diamond |", "mean of 2 seeds"})
    EXPECT_NE(report.find(part), std::string::npos) << part << "\n" << report;
  EXPECT_TRUE(fs::exists(out.file("phase0-preview.svg")));
  EXPECT_TRUE(fs::exists(out.file("logs/phase2_electrons-seed1.log")));
  const RunConfig a = RunConfig::from_resolved_file(out.file("phase1_uniform/config.yaml"));
  const RunConfig b = RunConfig::from_resolved_file(out.file("phase2_electrons/config.yaml"));
  const RunConfig a1 = RunConfig::from_resolved_file(out.file("phase1_uniform-seed1/config.yaml"));
  EXPECT_EQ(a.differences(b), std::vector<std::string>{"data.weighting"});
  EXPECT_EQ(a.differences(a1), std::vector<std::string>{"train.seed"});
  EXPECT_EQ(a.get_int("train.threads"), 1);  // side by side: one thread each, whatever the machine

  // Run again with its output redirected: nothing is retrained, and Phase 0's table (stdout) comes before the
  // lines that follow it on stderr.
  const std::string log = out.file("again.log");
  const auto again = test::run_shell("(" + std::string(RHOTRAIN_BINARY) + " " + cmd + " > " + log + " 2>&1)");
  ASSERT_EQ(again.exit_code, 0) << test::read_file(log);
  const std::string text = test::read_file(log);
  EXPECT_NE(text.find("already trained"), std::string::npos) << text;
  EXPECT_LT(text.find("Phase 0 preview"), text.find("== Phases 1 and 2")) << text;

  // A third seed grows the study: only its two runs are trained, the report then has three per arm.
  const auto three = run_rhotrain(cmd + " --seeds 3");
  ASSERT_EQ(three.exit_code, 0) << three.err;
  EXPECT_NE(three.err.find("phase1_uniform: already trained"), std::string::npos) << three.err;
  EXPECT_NE(three.err.find("phase1_uniform-seed2: training"), std::string::npos) << three.err;
  EXPECT_NE(test::read_file(out.file("report.md")).find("seeds 0, 1, 2"), std::string::npos);
}

// SIGTERM to the experiment reaches every run side by side: each checkpoints, the experiment exits 0 saying so,
// and the same command continues them to the end.
TEST_F(Train, AStoppedSideBySideExperimentContinuesWhereItsRunsStopped) {
  TempDir out;
  const std::string steps = "400";
  const Stopped stopped = stop_rhotrain_when(
      {"experiment", "--config", config(), "--set", "eval.sets=[val_200]", "--set", "eval.every=400", "--set", "checkpoint.every=20",
       "--steps", steps, "--seeds", "1", "--parallel", "2", "--fixtures", "", "--out", out.path()},
      out.file("log"), [&] { return latest_checkpoint(out.file("phase1_uniform")) && latest_checkpoint(out.file("phase2_electrons")); }, SIGTERM);
  EXPECT_EQ(stopped.exit_code, 0);
  const std::string log = test::read_file(out.file("log"));
  EXPECT_NE(log.find("experiment stopped"), std::string::npos) << log;
  EXPECT_NE(log.find("phase2_electrons: stopped (checkpoint written)"), std::string::npos) << log;
  const int64_t stopped_at = read_train_state(*latest_checkpoint(out.file("phase1_uniform"))).step;
  EXPECT_LT(stopped_at, 400);
  const auto again = run_rhotrain("experiment --config " + config() + " --set eval.sets=[val_200] --set eval.every=400 --set checkpoint.every=20 --steps " +
                                  steps + " --seeds 1 --parallel 2 --fixtures '' --out " + out.path());
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("phase1_uniform: resuming"), std::string::npos) << again.err;
  EXPECT_EQ(read_train_state(*latest_checkpoint(out.file("phase1_uniform"))).step, 400);
  EXPECT_TRUE(fs::exists(out.file("report.md")));
  // The resumed run's losses continue the stopped one's: one value per step, none logged twice.
  EXPECT_EQ(losses(out.file("phase1_uniform")).size(), 400u);
}

// A stop reaches an experiment whose runs are not all started: the running ones checkpoint and the experiment exits at
// once, with SIGINT (Ctrl-C) and with SIGTERM alike; the same command then finishes the study.
TEST_F(Train, AStoppedExperimentExitsAtOnceWhenSomeRunsHaveNotStarted) {
  for (const int signal : {SIGINT, SIGTERM}) {
    TempDir out;
    const Stopped stopped = stop_rhotrain_when(
        {"experiment", "--config", config(), "--set", "eval.sets=[val_200]", "--set", "eval.every=400", "--set", "checkpoint.every=20",
         "--steps", "400", "--seeds", "2", "--parallel", "2", "--fixtures", "", "--out", out.path()},
        out.file("log"), [&] { return latest_checkpoint(out.file("phase1_uniform")) && latest_checkpoint(out.file("phase2_electrons")); },
        signal);
    EXPECT_EQ(stopped.exit_code, 0) << "signal " << signal;
    EXPECT_LT(stopped.seconds, 15.0) << "signal " << signal << ": the experiment must not wait for runs that never started";
    const std::string log = test::read_file(out.file("log"));
    EXPECT_NE(log.find("experiment stopped"), std::string::npos) << log;
    EXPECT_FALSE(fs::exists(out.file("phase1_uniform-seed1"))) << "a run that had not started stays unstarted";
    if (signal != SIGTERM) continue;
    const auto again = run_rhotrain("experiment --config " + config() + " --set eval.sets=[val_200] --set eval.every=400 --set checkpoint.every=20 "
                                    "--steps 400 --seeds 2 --parallel 2 --fixtures '' --out " + out.path());
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_TRUE(fs::exists(out.file("report.md")));
    EXPECT_EQ(read_train_state(*latest_checkpoint(out.file("phase2_electrons-seed1"))).step, 400);
  }
}

// Ctrl-C during the evaluation at the last step says how to resume, as a stop during training does, and the resume
// does the evaluation.
TEST_F(Train, AStopDuringTheLastEvaluationPrintsTheResumeCommand) {
  TempDir runs;
  const std::string run = runs.file("r");
  // Overlapping patches at every voxel make the evaluation long enough to be caught in it.
  const Stopped stopped = stop_rhotrain_when({"train", "--config", config(), "--set", "eval.sets=[train]", "--set", "eval.stride=1", "--set",
                                              "eval.every=6", "--run-dir", run},
                                             runs.file("log"), logged(runs.file("log"), "step 6/6"), SIGINT);
  EXPECT_EQ(stopped.exit_code, 0);
  const std::string log = test::read_file(runs.file("log"));
  EXPECT_NE(log.find("its evaluation left for the resumed run); resume with: rhotrain train --run-dir " + run + " --resume"), std::string::npos) << log;
  EXPECT_EQ(log.find("done: 6 steps"), std::string::npos) << log;
  const auto resumed = run_rhotrain("train --run-dir " + run + " --resume --set eval.stride=0");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_TRUE(fs::exists(run + "/eval/train/step-6.json"));
}

// Only the built-in default store is generated when missing: a mistyped one is an error naming it, and nothing is made.
TEST_F(Train, AnExperimentOnAMissingStoreThatIsNotTheDefaultIsRefused) {
  TempDir out;
  const auto r = run_rhotrain("experiment --config " + config() + " --set eval.sets=[val_200] --set 'data.store=[" + out.file("qe_typo.h5") + "]' --out " + out.file("x"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(out.file("qe_typo.h5") + ": no such store (only the built-in data/default.h5 is generated"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out.file("qe_typo.h5")));
}

// Ctrl-C while the experiment generates the built-in store stops it at once and leaves no file, finished or temporary,
// where the store goes; the same command would start over.
TEST_F(Train, AStopWhileGeneratingTheDefaultStoreLeavesNothingBehind) {
  TempDir home;
  const Stopped stopped = stop_rhotrain_when({"experiment", "--config", config(), "--set", "data.store=[data/default.h5]", "--set",
                                              "eval.sets=[val_200]", "--out", "out", "--fixtures", ""},
                                             home.file("log"), logged(home.file("log"), "synth: "), SIGINT, home.path());
  EXPECT_EQ(stopped.exit_code, 0);
  const std::string log = test::read_file(home.file("log"));
  EXPECT_NE(log.find("experiment stopped while generating data/default.h5 (nothing written)"), std::string::npos) << log;
  ASSERT_TRUE(fs::is_directory(home.file("data")));
  EXPECT_TRUE(fs::is_empty(home.file("data"))) << fs::directory_iterator(home.file("data"))->path();
}

// A run kept where it was trained evaluates from any folder: relative store paths are found from the run's folders.
TEST_F(Train, ARunWithRelativeStorePathsEvaluatesFromAnotherFolder) {
  TempDir home, elsewhere;
  fs::copy_file(dir_->file("s.h5"), home.file("s.h5"));
  std::string yaml = test::read_file(config());
  yaml.replace(yaml.find(dir_->file("s.h5")), dir_->file("s.h5").size(), "s.h5");
  test::write_file(home.file("tiny.yaml"), yaml);
  const auto trained = test::run_shell("cd " + home.path() + " && " RHOTRAIN_BINARY " train --config tiny.yaml --set eval.sets=[seen] --run-dir runs/r");
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const auto e = test::run_shell("cd " + elsewhere.path() + " && " RHOTRAIN_BINARY " eval --run " + home.file("runs/r") + " --split seen");
  EXPECT_EQ(e.exit_code, 0) << e.err;
}

// train.threads may change on resume (a busy machine needs that); the resume says what it changes.
TEST_F(Train, ThreadsMayChangeOnResumeAndTheResumeSaysSo) {
  TempDir runs;
  const std::string run = runs.file("r");
  ASSERT_EQ(run_rhotrain("train --config " + config() + " --steps 3 --run-dir " + run).exit_code, 0);
  const auto r = run_rhotrain("train --run-dir " + run + " --resume --steps 6 --set train.threads=2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("trained with 1 thread(s) per rank and continues with 2"), std::string::npos) << r.err;
}

// On a machine others share, threads follow the CPUs the process may use (here one, by taskset), waiting threads
// sleep after a short spin, and the announcement says both; a wait policy the user set is kept.
TEST_F(Train, ThreadsFollowTheAffinityMaskAndIdleThreadsGiveUpTheirCores) {
  TempDir runs;
  const std::string train = " " RHOTRAIN_BINARY " train --config " + config() + " --steps 1 --set eval.sets=[] --set train.threads=0 --run-dir ";
  const auto pinned = test::run_shell("taskset -c 0" + train + runs.file("pinned"));
  ASSERT_EQ(pinned.exit_code, 0) << pinned.err;
  EXPECT_NE(pinned.err.find("1 thread (1 core in this process's affinity mask; idle threads sleep after GOMP_SPINCOUNT=1000 spins)"),
            std::string::npos) << pinned.err;
  const auto passive = test::run_shell("OMP_WAIT_POLICY=PASSIVE" + train + runs.file("passive"));
  ASSERT_EQ(passive.exit_code, 0) << passive.err;
  EXPECT_NE(passive.err.find("; OMP_WAIT_POLICY=PASSIVE)"), std::string::npos) << passive.err;
  EXPECT_EQ(passive.err.find("GOMP_SPINCOUNT"), std::string::npos) << passive.err;
}

// compare with K runs per arm: grouped by weighting, paired by train.seed; seeds or budgets that do not match are
// refused, and so is an arm with a seed missing.
TEST_F(Train, CompareTakesSeveralSeedsPerArmAndRefusesMismatchedSeedsOrBudgets) {
  TempDir runs;
  const std::string common = "train --config " + config() + " --set eval.sets=[val_200] --set checkpoint.every=6";
  for (const char* w : {"uniform", "electrons"})
    for (int seed : {0, 1})
      ASSERT_EQ(run_rhotrain(common + " --weighting " + w + " --set train.seed=" + std::to_string(seed) + " --run-dir " +
                             runs.file(std::string(w) + std::to_string(seed))).exit_code, 0);
  ASSERT_EQ(run_rhotrain(common + " --weighting electrons --set train.seed=2 --run-dir " + runs.file("electrons2")).exit_code, 0);
  ASSERT_EQ(run_rhotrain(common + " --weighting electrons --set train.seed=1 --set train.steps=9 --set eval.every=9 --run-dir " +
                         runs.file("electrons1-long")).exit_code, 0);

  const auto r = run_rhotrain("compare " + runs.file("electrons1") + " " + runs.file("uniform0") + " " + runs.file("electrons0") + " " +
                              runs.file("uniform1") + " -o " + runs.file("k2/report.md"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string report = test::read_file(runs.file("k2/report.md"));
  EXPECT_NE(report.find("2 training seeds each"), std::string::npos) << report;
  EXPECT_NE(report.find("| 1 | `" + runs.file("uniform1") + "` | `" + runs.file("electrons1") + "` |"), std::string::npos) << report;
  EXPECT_NE(report.find("## Noise control"), std::string::npos);

  const auto seeds = run_rhotrain("compare " + runs.file("uniform0") + " " + runs.file("uniform1") + " " + runs.file("electrons0") + " " +
                                  runs.file("electrons2") + " -o " + runs.file("bad.md"));
  EXPECT_NE(seeds.exit_code, 0);
  EXPECT_NE(seeds.err.find("different seeds (uniform: 0, 1; electrons: 0, 2)"), std::string::npos) << seeds.err;
  const auto budget = run_rhotrain("compare " + runs.file("uniform0") + " " + runs.file("uniform1") + " " + runs.file("electrons0") + " " +
                                   runs.file("electrons1-long") + " -o " + runs.file("bad.md"));
  EXPECT_NE(budget.exit_code, 0);
  EXPECT_NE(budget.err.find("train.steps"), std::string::npos) << budget.err;
  const auto missing = run_rhotrain("compare " + runs.file("uniform0") + " " + runs.file("uniform1") + " " + runs.file("electrons0") +
                                    " -o " + runs.file("bad.md"));
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("different numbers of runs (uniform: 2, electrons: 1)"), std::string::npos) << missing.err;
  EXPECT_FALSE(fs::exists(runs.file("bad.md")));
}

// The oracle — true tokens through tiling, decoding and stitching — gives back exactly the floor, for every material: of
// the density codec, and of a residual codec over the atomic-density fit.
TEST_F(Train, OracleEvaluationEqualsTheCodecFloorExactly) {
  TempDir d;
  const std::string store = dir_->file("s.h5");
  ASSERT_EQ(run_rhotrain("fit-codec --store " + store + " --bins 64 -o " + d.file("c.h5")).exit_code, 0);
  ASSERT_EQ(run_rhotrain("fit-atoms --store " + store + " --score-split seen -o " + d.file("atoms.h5")).exit_code, 0);
  const auto residual = run_rhotrain("fit-codec --store " + store + " --bins 64 --atoms " + d.file("atoms.h5") + " -o " + d.file("r.h5"));
  ASSERT_EQ(residual.exit_code, 0) << residual.err;
  EXPECT_NE(residual.out.find("residual codec"), std::string::npos) << residual.out;
  for (const std::string& codec : {"--codec " + d.file("c.h5"), "--codec " + d.file("r.h5") + " --atoms " + d.file("atoms.h5")})
    for (const char* patch : {"4", "5", "7", "13", "5 --stride 2"}) {  // tails, n = kP, n < P, overlapping patches
      const auto r = run_rhotrain("eval --oracle --store " + store + " " + codec + " --set train --patch " + patch +
                                  " --out " + d.file("o.json"));
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_NE(r.out.find("oracle check passed"), std::string::npos);
      const auto j = nlohmann::json::parse(test::read_file(d.file("o.json")));
      EXPECT_EQ(j["materials"].size(), 16u);
    }
  // Without its atomic-density fit a residual codec cannot be decoded: refused, naming what is missing.
  const auto missing = run_rhotrain("eval --oracle --store " + store + " --codec " + d.file("r.h5"));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("--atoms"), std::string::npos) << missing.err;
}

// Scoring your own data: an evaluation on another store is recorded where compare finds it, keyed by store and split.
TEST_F(Train, EvaluationsOnAnotherStoreAreComparedWithStore) {
  TempDir runs;
  fs::copy_file(dir_->file("s.h5"), runs.file("mine.h5"));
  const std::string common = "train --config " + config() + " --set checkpoint.every=6";
  ASSERT_EQ(run_rhotrain(common + " --run-dir " + runs.file("u")).exit_code, 0);
  ASSERT_EQ(run_rhotrain(common + " --weighting electrons --run-dir " + runs.file("e")).exit_code, 0);
  for (const char* run : {"u", "e"}) {
    const auto r = run_rhotrain("eval --run " + runs.file(run) + " --store " + runs.file("mine.h5") + " --split train");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(fs::exists(runs.file(std::string(run) + "/eval/train@mine/step-6.json"))) << r.out;
  }
  const auto missing = run_rhotrain("compare " + runs.file("u") + " " + runs.file("e") + " --split train -o " + runs.file("r.md"));
  EXPECT_NE(missing.err.find("no evaluation of split 'train'"), std::string::npos) << missing.err;
  const auto r = run_rhotrain("compare " + runs.file("u") + " " + runs.file("e") + " --split train --store " +
                              runs.file("mine.h5") + " -o " + runs.file("r.md"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string report = test::read_file(runs.file("r.md"));
  EXPECT_NE(report.find("set `train` (16 materials"), std::string::npos) << report;
  EXPECT_EQ(report.find("| H1 | electrons-trained per-mat-mean NMAE ≥ 0.1 pp worse than uniform | Δ = n/a"), std::string::npos);
}

// A set too small for a verdict says so instead of judging from degenerate intervals; empty deciles are n/a.
TEST_F(Train, ASetOfFourMaterialsGetsNoVerdict) {
  TempDir runs;
  const std::string common = "train --config " + config() + " --set eval.sets=[val_200] --set checkpoint.every=6";
  ASSERT_EQ(run_rhotrain(common + " --run-dir " + runs.file("u")).exit_code, 0);
  ASSERT_EQ(run_rhotrain(common + " --weighting electrons --run-dir " + runs.file("e")).exit_code, 0);
  const auto r = run_rhotrain("compare " + runs.file("u") + " " + runs.file("e") + " -o " + runs.file("r.md"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("H1 n/a, H2 n/a, H3 n/a"), std::string::npos) << r.out;
  const std::string report = test::read_file(runs.file("r.md"));
  EXPECT_NE(report.find("the set has 4 materials; a verdict needs at least 10"), std::string::npos) << report;
  EXPECT_NE(report.find("| 9 | – | 0 | n/a | n/a | n/a |"), std::string::npos) << report;
  const auto j = nlohmann::json::parse(test::read_file(runs.file("u/eval/val_200/step-6.json")));
  EXPECT_TRUE(j["aggregates"]["deciles"][9]["per_mat_mean"].is_null());
  EXPECT_EQ(j["aggregates"]["deciles"][9]["count"], 0);
  for (const auto& f : event_files(runs.file("u")))
    for (const auto& p : read_event_file(f).scalars) EXPECT_NE(p.tag, "eval/val_200/nmae_decile_09") << "an empty decile is not a 0";
  // The table shows NMAE in percent, as eval does.
  const auto logs = run_rhotrain("logs " + runs.file("u") + " --tag nmae_per_mat_mean");
  EXPECT_NE(logs.out.find(" %"), std::string::npos) << logs.out;
}

// An evaluation a stop cut short is run first when the run resumes, so no checkpointed step misses its record.
TEST_F(Train, AResumedRunCatchesUpOnAnEvaluationItsCheckpointLacks) {
  TempDir runs;
  const std::string run = runs.file("r");
  ASSERT_EQ(run_rhotrain("train --config " + config() + " --set eval.sets=[val_200] --run-dir " + run).exit_code, 0);
  const std::string record = run + "/eval/val_200/step-6.json";
  const std::string before = test::read_file(record);
  fs::remove(record);
  const auto r = run_rhotrain("train --run-dir " + run + " --resume");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("eval val_200 step 6"), std::string::npos) << r.err;
  const auto again = nlohmann::json::parse(test::read_file(record)), was = nlohmann::json::parse(before);
  EXPECT_EQ(again["aggregates"]["per_mat_mean"], was["aggregates"]["per_mat_mean"]);
}

// A stop request abandons an evaluation between materials.
TEST_F(Train, EvaluationStopsWhenAsked) {
  RunConfig c;
  c.merge_file(config());
  const RunSettings s = run_settings(c);
  const MaterialStore store({dir_->file("s.h5")}, 0);
  const DensityCoding tok{V3Tokenizer(s.data.patch, fit_codec_on_split(store, "train", 32), s.data.max_len), nullptr, false};
  DensityTransformer model(s.model.for_codec(32));
  SkipReport skipped;
  int asked = 0;
  const auto stopped = evaluate_set(store, "val_200", tok, &model, s.eval, 0, skipped, [&] { return ++asked > 2; });
  EXPECT_FALSE(stopped.has_value());
  EXPECT_EQ(asked, 3) << "asked before each material, and it stopped when told";
  EXPECT_TRUE(evaluate_set(store, "val_200", tok, &model, s.eval, 0, skipped).has_value());
}

}  // namespace
}  // namespace rhotrain
