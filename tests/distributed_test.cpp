// Data-parallel training as users launch it: two processes on 127.0.0.1 through /usr/bin/torchrun --no_python.
// The loss curve of two ranks follows one rank's at the same global batch, evaluation rows are those of one process,
// a run resumes on another world size where the global stream left off, a killed or hung rank stops the other
// within the timeout naming it, and the experiment runs both arms under the launcher.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/test_support.h"
#include "trainer/checkpoint.h"
#include "trainer/events.h"

namespace rhotrain {
namespace {

namespace fs = std::filesystem;
using test::run_rhotrain;
using test::TempDir;

// Debian 12's torchrun (PyTorch 1.13 on Python 3.11) fails on its default stream settings ("'NoneType' object has no
// attribute 'get'"); `-r 1 -t 1` (stdout to a log file and tee'd back) works around it. 1.13's --standalone
// rendezvous on the fixed port 29400, so CMake runs these tests one at a time (RESOURCE_LOCK).
const std::string kTorchrun = "/usr/bin/torchrun --standalone --no_python -r 1 -t 1 --nproc_per_node ";

test::RunResult torchrun(int ranks, const std::string& args) {
  return test::run_shell(kTorchrun + std::to_string(ranks) + " " + RHOTRAIN_BINARY + " " + args);
}

class Distributed : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    ASSERT_EQ(run_rhotrain("synth -o " + dir_->file("s.h5") + " --n-train 16 --n-val 5 --seed 8").exit_code, 0);
    test::write_file(dir_->file("tiny.yaml"),
                     "data:\n  store: [" + dir_->file("s.h5") + "]\n  patch: 4\n  codec_bins: 32\n  max_len: 600\n"
                     "  patches_per_mat: 8\nmodel:\n  preset: tiny\n  d_model: 32\n  layers: 1\n  heads: 2\n  ffn: 64\n"
                     "train:\n  steps: 40\n  batch_size: 8\n  warmup: 2\n  log_every: 10\n  threads: 1\n"
                     "eval:\n  sets: [val_200]\n  every: 20\n"
                     "checkpoint:\n  every: 20\n  keep: 5\n");
    // The codec is cached beside the store first, so that no run below fits it.
    ASSERT_EQ(run_rhotrain("train --config " + config() + " --steps 1 --set eval.sets=[] --run-dir " + dir_->file("warm")).exit_code, 0);
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string config() { return dir_->file("tiny.yaml"); }
  static TempDir* dir_;
};
TempDir* Distributed::dir_ = nullptr;

std::map<int64_t, double> losses(const std::string& run_dir) {
  std::map<int64_t, double> out;
  for (const auto& f : event_files(run_dir))
    for (const auto& p : read_event_file(f).scalars)
      if (p.tag == "train/loss") out[p.step] = p.value;
  return out;
}

// The largest relative difference between two loss curves over the steps both have.
double largest_difference(const std::map<int64_t, double>& a, const std::map<int64_t, double>& b) {
  double worst = 0;
  for (const auto& [step, value] : a)
    if (b.count(step)) worst = std::max(worst, std::fabs(value - b.at(step)) / std::fabs(value));
  return worst;
}

nlohmann::json rows(const std::string& record) { return nlohmann::json::parse(test::read_file(record))["materials"]; }

// Sums over two ranks round differently from one rank's sums (float32 reductions in another order), so the curves
// agree to about 1e-7 relative at first; 40 steps of Adam let that grow, and 1e-5 holds with a wide margin.
constexpr double kLossTolerance = 1e-5;

TEST_F(Distributed, TwoRanksFollowTheOneRankLossCurveAndScoreTheSameRows) {
  TempDir runs;
  ASSERT_EQ(run_rhotrain("train --config " + config() + " --run-dir " + runs.file("one")).exit_code, 0);
  const auto two = torchrun(2, "train --config " + config() + " --run-dir " + runs.file("two"));
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_NE(two.err.find("2 ranks, all-reduce"), std::string::npos) << two.err;
  const auto a = losses(runs.file("one")), b = losses(runs.file("two"));
  ASSERT_EQ(a.size(), 40u);
  ASSERT_EQ(b.size(), 40u) << "rank 0 alone writes the event file, once per step";
  const double worst = largest_difference(a, b);
  std::printf("largest relative loss difference, 2 ranks vs 1 over 40 steps: %.3g\n", worst);
  EXPECT_LT(worst, kLossTolerance);
  EXPECT_EQ(read_train_state(checkpoint_at(runs.file("two"), 40)).world_size, 2);

  // The same checkpoint evaluated by one process and by two: identical rows, in the same order.
  ASSERT_EQ(run_rhotrain("eval --run " + runs.file("two") + " -o " + runs.file("eval1.json")).exit_code, 0);
  const auto e2 = torchrun(2, "eval --run " + runs.file("two") + " -o " + runs.file("eval2.json"));
  ASSERT_EQ(e2.exit_code, 0) << e2.err;
  EXPECT_EQ(rows(runs.file("eval1.json")), rows(runs.file("eval2.json")));
  EXPECT_EQ(rows(runs.file("eval1.json")).size(), 5u);
}

TEST_F(Distributed, AResumeOnAnotherWorldSizeContinuesTheGlobalStream) {
  TempDir runs;
  ASSERT_EQ(run_rhotrain("train --config " + config() + " --run-dir " + runs.file("straight")).exit_code, 0);
  // Two ranks train all 40 steps; forgetting the last checkpoint makes the run resume from step 20, on one rank.
  ASSERT_EQ(torchrun(2, "train --config " + config() + " --run-dir " + runs.file("r")).exit_code, 0);
  fs::remove_all(checkpoint_at(runs.file("r"), 40));
  const auto resumed = run_rhotrain("train --run-dir " + runs.file("r") + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("trained on 2 rank(s) and continues on 1"), std::string::npos) << resumed.err;
  EXPECT_EQ(read_train_state(checkpoint_at(runs.file("r"), 40)).position, 40u * 8u);
  EXPECT_LT(largest_difference(losses(runs.file("straight")), losses(runs.file("r"))), kLossTolerance);
}

// The pid of the rank `rank` of a run, found by its environment and its run directory.
pid_t rank_pid(int rank, const std::string& run_dir) {
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string cmdline = test::read_file(e.path().string() + "/cmdline");
    if (cmdline.find(run_dir) == std::string::npos || cmdline.find("torchrun") != std::string::npos) continue;
    std::istringstream environ(test::read_file(e.path().string() + "/environ"));
    for (std::string variable; std::getline(environ, variable, '\0');)
      if (variable == "RANK=" + std::to_string(rank)) return static_cast<pid_t>(std::stoi(name));
  }
  return -1;
}

// A rank killed with SIGKILL, or stopped (a hang), makes the other exit within train.dist_timeout_s with an error
// that names it; the run then resumes from its newest checkpoint.
TEST_F(Distributed, AFailedOrHungRankStopsTheOtherNamingItAndTheRunResumes) {
  for (const int sig : {SIGKILL, SIGSTOP}) {
    TempDir runs;
    const std::string run = runs.file("f"), log = runs.file("log");
    const pid_t launcher = fork();
    if (launcher == 0) {
      const std::string cmd = kTorchrun + "2 " + RHOTRAIN_BINARY + " train --config " + config() +
                              " --steps 100000 --set train.dist_timeout_s=5 --set eval.sets=[] --run-dir " + run + " >" + log + " 2>&1";
      execl("/bin/sh", "sh", "-c", cmd.c_str(), nullptr);
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!latest_checkpoint(run) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_TRUE(latest_checkpoint(run)) << test::read_file(log);
    const pid_t victim = rank_pid(1, run), survivor = rank_pid(0, run);
    ASSERT_GT(victim, 0);
    ASSERT_GT(survivor, 0);
    const auto start = std::chrono::steady_clock::now();
    kill(victim, sig);
    while (kill(survivor, 0) == 0 && std::chrono::steady_clock::now() - start < std::chrono::seconds(60))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    kill(victim, SIGKILL);
    int status = 0;
    waitpid(launcher, &status, 0);
    const std::string out = test::read_file(log);
    std::printf("signal %d to rank 1: rank 0 exited after %.1f s\n", sig, seconds);
    EXPECT_LT(seconds, 5 + 10.0) << "the 5 s timeout, and a few seconds to notice and exit";
    EXPECT_NE(out.find("rhotrain train (rank 0): error:"), std::string::npos) << out;
    EXPECT_NE(out.find("rank 1 stopped responding"), std::string::npos) << out;
    const int64_t at = read_train_state(*latest_checkpoint(run)).step;
    const auto resumed = torchrun(2, "train --run-dir " + run + " --resume --steps " + std::to_string(at + 3));
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_EQ(read_train_state(*latest_checkpoint(run)).step, at + 3);
  }
}

TEST_F(Distributed, TheExperimentRunsBothArmsUnderTheLauncher) {
  TempDir out;
  const auto r = torchrun(2, "experiment --config " + config() + " -o " + out.path() + " --fixtures ''");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string report = test::read_file(out.file("report.md"));
  EXPECT_NE(report.find("Matched: same architecture"), std::string::npos) << report;
  for (const char* arm : {"phase1_uniform", "phase2_electrons"})
    EXPECT_EQ(read_train_state(checkpoint_at(out.file(arm), 40)).world_size, 2) << arm;
}

// Every torchrun command of the README must run as pasted on Debian 12: the first is run as written there, with only its
// config swapped for the suite's small one.
TEST_F(Distributed, TheReadmesTorchrunCommandRunsAsPasted) {
  std::istringstream readme(test::read_file(std::string(RHOTRAIN_SOURCE_DIR) + "/README.md"));
  std::vector<std::string> commands;
  for (std::string line; std::getline(readme, line);)
    if (line.rfind("torchrun ", 0) == 0) commands.push_back(line);
  ASSERT_FALSE(commands.empty());
  for (const auto& c : commands) EXPECT_NE(c.find(" -r 1 -t 1 "), std::string::npos) << "README: " << c;
  std::string command = commands.front();
  const std::string binary = "build/rhotrain", readme_config = "configs/phase1_uniform.yaml";
  ASSERT_NE(command.find(binary), std::string::npos) << command;
  ASSERT_NE(command.find(readme_config), std::string::npos) << command;
  command.replace(command.find(binary), binary.size(), RHOTRAIN_BINARY);
  command.replace(command.find(readme_config), readme_config.size(), config());
  TempDir runs;
  const auto r = test::run_shell(command + " --run-dir " + runs.file("r"));
  ASSERT_EQ(r.exit_code, 0) << command << "\n" << r.err;
  EXPECT_EQ(read_train_state(checkpoint_at(runs.file("r"), 40)).world_size, 2);
}

}  // namespace
}  // namespace rhotrain
