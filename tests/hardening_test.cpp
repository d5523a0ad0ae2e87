// What a week-long job on a shared machine meets: a full disk (a small tmpfs), commands killed with SIGKILL at any
// moment, and two processes writing one run directory or store. Nothing is lost, nothing half-written is left, and
// every failure is one line naming the file.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "common/files.h"
#include "materials/store.h"
#include "tests/test_support.h"
#include "trainer/checkpoint.h"
#include "trainer/events.h"

namespace rhotrain {
namespace {

namespace fs = std::filesystem;
using test::run_rhotrain;
using test::TempDir;

std::string tiny_config(const std::string& dir, const std::string& store) {
  const std::string path = dir + "/tiny.yaml";
  test::write_file(path, "data:\n  store: [" + store + "]\n  patch: 4\n  codec_bins: 32\n  max_len: 600\n  patches_per_mat: 2\n"
                         "model:\n  preset: tiny\n  d_model: 32\n  layers: 1\n  heads: 2\n  ffn: 64\n"
                         "train:\n  steps: 6\n  batch_size: 4\n  warmup: 2\n  log_every: 1\n  threads: 1\n"
                         "eval:\n  sets: []\ncheckpoint:\n  every: 3\n  keep: 2\n");
  return path;
}

// A tmpfs of `kilobytes` at a fresh folder, unmounted when the test ends; tests skip where mounting is not allowed.
class SmallDisk {
 public:
  explicit SmallDisk(int kilobytes) {
    mounted_ = ::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, ("size=" + std::to_string(kilobytes) + "k").c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  std::string file(const std::string& name) const { return dir_.file(name); }
  // Leaves `kilobytes` free.
  void fill_leaving(int kilobytes) const {
    const uintmax_t fill = fs::space(dir_.path()).available - static_cast<uintmax_t>(kilobytes) * 1024;
    std::ofstream out(file("filler"), std::ios::binary);
    const std::string block(4096, '\0');
    for (uintmax_t written = 0; written + block.size() <= fill; written += block.size()) out << block;
  }
  std::vector<std::string> entries() const { return dir_.entries(); }

 private:
  TempDir dir_;
  bool mounted_ = false;
};

size_t lines_of(const std::string& text) { return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')); }

bool has_temporary(const std::string& dir) {
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) return true;
  return false;
}

// train/loss of every step a run's event files hold, failing the test for a step logged twice.
std::map<int64_t, double> losses_logged_once(const std::string& run) {
  std::map<int64_t, double> losses;
  for (const auto& f : event_files(run))
    for (const auto& p : read_event_file(f).scalars)
      if (p.tag == "train/loss") {
        EXPECT_EQ(losses.count(p.step), 0u) << run << ": step " << p.step << " logged twice";
        losses[p.step] = p.value;
      }
  return losses;
}

TEST(DiskFull, AnImportThatDoesNotFitFailsInOneLineAndLeavesTheStoreAsItWas) {
  SmallDisk disk(200);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root): the disk-full tests do not run";
  ASSERT_EQ(run_rhotrain("import -o " + disk.file("s.h5") + " " + test::fixture("Li_bcc.ase.cube")).exit_code, 0);
  // The case that crashed with a segmentation fault and left s.h5.tmp-PID behind.
  const auto r = run_rhotrain("import -o " + disk.file("s.h5") + " " + test::fixture("TiO2_rutile.ase.CHGCAR") + " " +
                              test::fixture("Si_diamond.ase.CHGCAR"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(lines_of(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find(disk.file("s.h5") + ": "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  EXPECT_EQ(disk.entries(), std::vector<std::string>{"s.h5"});
  const auto info = run_rhotrain("info --store " + disk.file("s.h5") + " --ids");
  EXPECT_EQ(info.out, "Li_bcc.ase\n");
  EXPECT_EQ(info.err, "");
}

// A run with a checkpoint at step 3 on a 4 MB tmpfs, its store elsewhere: what the disk-full tests of training fill.
class DiskFullRun : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!disk_.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root): the disk-full tests do not run";
    ASSERT_EQ(run_rhotrain("synth --out " + data_.file("s.h5") + " --n-train 16 --n-val 4 --seed 8").exit_code, 0);
    const std::string config = tiny_config(data_.path(), data_.file("s.h5"));
    ASSERT_EQ(run_rhotrain("train --config " + config + " --run-dir " + run_ + " --steps 3").exit_code, 0);
  }
  // The run stopped with one error naming `file...` and the full disk, left no temporary file and kept the step-3
  // checkpoint; then the disk is given room again.
  void expect_stopped_at_step_3(const test::RunResult& r, const std::string& file) {
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("rhotrain train: error: " + run_ + "/" + file), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
    EXPECT_FALSE(has_temporary(run_));
    EXPECT_EQ(*latest_checkpoint(run_), run_ + "/checkpoints/step-3");
    fs::remove(disk_.file("filler"));
  }
  SmallDisk disk_{4096};
  TempDir data_;
  const std::string run_ = disk_.file("run");
};

TEST_F(DiskFullRun, ACheckpointThatDoesNotFitKeepsThePreviousOneAndTheRunResumesWhenThereIsRoom) {
  disk_.fill_leaving(60);  // room for the config and the log, not for a checkpoint
  expect_stopped_at_step_3(run_rhotrain("train --run-dir " + run_ + " --resume --steps 6"), "checkpoints/step-6/");
  const auto resumed = run_rhotrain("train --run-dir " + run_ + " --resume --steps 6");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(read_train_state(*latest_checkpoint(run_)).step, 6);
}

TEST_F(DiskFullRun, AnEventLogThatDoesNotFitStopsTheRunAtTheLastCheckpointAndTheResumeLogsEveryStepOnce) {
  // Room for the config and the lock, not for the ~300 bytes a step logs over 2000 steps: the log fills the disk
  // long before the next checkpoint is due.
  disk_.fill_leaving(24);
  const auto r = run_rhotrain("train --run-dir " + run_ + " --resume --steps 2000 --set checkpoint.every=2000");
  EXPECT_NE(r.err.find(": cannot write the event file (No space left on device)\n"), std::string::npos) << r.err;
  expect_stopped_at_step_3(r, "events.out.tfevents.");
  const auto resumed = run_rhotrain("train --run-dir " + run_ + " --resume --steps 6 --set checkpoint.every=3");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  const auto losses = losses_logged_once(run_);
  ASSERT_EQ(losses.size(), 6u);
  EXPECT_EQ(losses.rbegin()->first, 6);
  EXPECT_FALSE(read_run_scalars(run_, [](const std::string&) { return true; }).truncated);
}

TEST(KilledWriters, TheirTemporaryFilesAreRemovedByTheNextCommandThatWritesThere) {
  TempDir dir;
  // The pid of a process that has exited: what a writer killed with SIGKILL leaves in its temporary name.
  const pid_t gone = fork();
  if (gone == 0) _exit(0);
  waitpid(gone, nullptr, 0);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  const std::string stale = dir.file("s.h5.tmp-" + std::string(host) + "-" + std::to_string(gone));
  const std::string alive = dir.file("s.h5.tmp-" + std::string(host) + "-" + std::to_string(getppid()));
  const std::string elsewhere = dir.file("s.h5.tmp-another-host-" + std::to_string(gone));
  for (const auto& f : {stale, alive, elsewhere}) test::write_file(f, "a half-written copy");
  const auto r = run_rhotrain("import -o " + dir.file("s.h5") + " " + test::fixture("Li_bcc.ase.cube"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("note: removed " + stale), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(alive));      // its writer may still be at work
  EXPECT_TRUE(fs::exists(elsewhere));  // another host's process cannot be judged from here
}

TEST(Locks, ASecondWriterOfAStoreIsRefusedNamingTheFirstAndAReleasedLockIsFree) {
  TempDir dir;
  {
    const WriterLock held(dir.file("s.h5.lock"), "store");
    const auto r = run_rhotrain("import -o " + dir.file("s.h5") + " " + test::fixture("Li_bcc.ase.cube"));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("store " + dir.file("s.h5") + " is in use by pid " + std::to_string(getpid())), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir.file("s.h5")));
  }
  EXPECT_EQ(run_rhotrain("import -o " + dir.file("s.h5") + " " + test::fixture("Li_bcc.ase.cube")).exit_code, 0);
  EXPECT_FALSE(fs::exists(dir.file("s.h5.lock")));
  // A directory store: two imports would number their shards alike.
  fs::create_directories(dir.file("d"));
  const WriterLock held(dir.file("d/.lock"), "store");
  const auto r = run_rhotrain("import -o " + dir.file("d") + " " + test::fixture("Li_bcc.ase.cube"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("store " + dir.file("d") + " is in use by pid"), std::string::npos) << r.err;
}

pid_t start_training(const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    freopen(log.c_str(), "a", stderr);
    freopen("/dev/null", "w", stdout);
    std::vector<char*> argv{const_cast<char*>(RHOTRAIN_BINARY), const_cast<char*>("train")};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(RHOTRAIN_BINARY, argv.data());
    _exit(127);
  }
  return pid;
}

TEST(Locks, ASecondResumeOfARunningRunIsRefusedAndAKilledHolderLeavesNothingStuck) {
  TempDir dir;
  ASSERT_EQ(run_rhotrain("synth --out " + dir.file("s.h5") + " --n-train 16 --n-val 4 --seed 8").exit_code, 0);
  const std::string config = tiny_config(dir.path(), dir.file("s.h5")), run = dir.file("run");
  const pid_t first = start_training({"--config", config, "--run-dir", run, "--steps", "100000"}, dir.file("log"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!latest_checkpoint(run) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(latest_checkpoint(run));
  const auto second = run_rhotrain("train --run-dir " + run + " --resume");
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("run directory " + run + " is in use by pid " + std::to_string(first)), std::string::npos) << second.err;
  kill(first, SIGKILL);
  waitpid(first, nullptr, 0);
  const int64_t at = read_train_state(*latest_checkpoint(run)).step;
  const auto resumed = run_rhotrain("train --run-dir " + run + " --resume --steps " + std::to_string(at + 3));
  EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
}

// A learning rate of 1e30 blows the weights up after the first update; every later loss is non-finite.
TEST(NonFinite, UpdatesWithANonFiniteGradientAreSkippedCountedAndStopTheRunAfterMaxBadSteps) {
  TempDir dir;
  ASSERT_EQ(run_rhotrain("synth --out " + dir.file("s.h5") + " --n-train 16 --n-val 4 --seed 8").exit_code, 0);
  const std::string config = tiny_config(dir.path(), dir.file("s.h5")), run = dir.file("run");
  const auto r = run_rhotrain("train --config " + config + " --run-dir " + run +
                              " --steps 40 --set train.lr=1e30 --set train.warmup=0 --set train.max_bad_steps=4");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("update skipped (4 in a row, 4 in all)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("4 steps in a row (up to step 5) had a non-finite loss or gradient (train.max_bad_steps)"),
            std::string::npos) << r.err;
  double skipped = 0;
  for (const auto& f : event_files(run))
    for (const auto& p : read_event_file(f).scalars)
      if (p.tag == "train/skipped_steps") skipped = std::max(skipped, p.value);
  EXPECT_EQ(skipped, 4);
  // The checkpoint at step 3 (two updates skipped by then) holds finite weights only: save_checkpoint checks.
  const TrainState state = read_train_state(run + "/checkpoints/step-3");
  EXPECT_EQ(state.skipped_steps, 2);
}

// Twenty SIGKILLs at random moments — in a step, a checkpoint, an evaluation record, an event-file flush — each
// followed by --resume: the run ends with the losses and weights of one that was never interrupted.
TEST(KilledWriters, ARunKilledTwentyTimesEndsExactlyAsAnUninterruptedOne) {
  TempDir dir;
  ASSERT_EQ(run_rhotrain("synth --out " + dir.file("s.h5") + " --n-train 16 --n-val 4 --seed 8").exit_code, 0);
  const std::string config = tiny_config(dir.path(), dir.file("s.h5"));
  const std::vector<std::string> shape = {"--config", config, "--steps", "600", "--set", "checkpoint.every=4",
                                          "--set", "eval.sets=[val_200]", "--set", "eval.every=40"};
  const std::string straight = dir.file("straight"), killed = dir.file("killed");
  std::vector<std::string> args = shape;
  args.insert(args.end(), {"--run-dir", straight});
  const pid_t s = start_training(args, dir.file("straight.log"));
  int status = 0;
  waitpid(s, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << test::read_file(dir.file("straight.log"));

  std::mt19937 rng(20261127);
  std::uniform_int_distribution<int> after_ms(300, 1500);  // from LibTorch's start-up to a few dozen steps
  int kills = 0;
  for (int attempt = 0; attempt < 40 && kills < 20; ++attempt) {
    args = shape;
    args.insert(args.end(), {"--run-dir", killed});
    if (latest_checkpoint(killed))
      args.push_back("--resume");
    else
      fs::remove_all(killed);  // killed before its first checkpoint: it starts over, as `experiment` does
    const pid_t pid = start_training(args, dir.file("killed.log"));
    std::this_thread::sleep_for(std::chrono::milliseconds(after_ms(rng)));
    if (waitpid(pid, &status, WNOHANG) == pid) break;  // it finished before the kill
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    ++kills;
  }
  EXPECT_EQ(kills, 20);
  args = shape;
  args.insert(args.end(), {"--run-dir", killed, "--resume"});
  const auto last = run_rhotrain("train " + [&] {
    std::string line;
    for (const auto& a : args) line += (line.empty() ? "" : " ") + a;
    return line;
  }());
  ASSERT_EQ(last.exit_code, 0) << last.err;
  EXPECT_FALSE(has_temporary(killed));

  const auto a = losses_logged_once(straight), b = losses_logged_once(killed);
  ASSERT_EQ(a.size(), 600u);
  EXPECT_EQ(a, b);
  EXPECT_EQ(nlohmann::json::parse(test::read_file(straight + "/eval/val_200/step-600.json"))["materials"],
            nlohmann::json::parse(test::read_file(killed + "/eval/val_200/step-600.json"))["materials"]);
  EXPECT_EQ(test::read_file(straight + "/checkpoints/step-600/model.pt"), test::read_file(killed + "/checkpoints/step-600/model.pt"));
}

}  // namespace
}  // namespace rhotrain
