#include "trainer/distributed.h"

#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/version.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "common/error.h"
#include "trainer/device.h"

namespace rhotrain {
namespace {

// What Gloo and NCCL implement: c10d::ProcessGroup in LibTorch 1.13, c10d::Backend from 2.0 on.
#if TORCH_VERSION_MAJOR >= 2
using CollectiveBackend = c10d::Backend;
#else
using CollectiveBackend = c10d::ProcessGroup;
#endif

using Clock = std::chrono::steady_clock;

constexpr size_t kBucketBytes = size_t{25} << 20;  // as torch DDP's default bucket

std::string env(const char* name, const std::string& fallback = "") {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

int env_int(const char* name, const char* fallback_name, int fallback) {
  const std::string v = env(name, env(fallback_name));
  if (v.empty()) return fallback;
  try {
    return std::stoi(v);
  } catch (const std::exception&) {
    throw Error(std::string("environment variable ") + name + " is not an integer: '" + v + "'");
  }
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::FILE* g_error_stream = nullptr;

}  // namespace

Launch launch_from_environment() {
  Launch l;
  l.rank = env_int("RANK", "SLURM_PROCID", 0);
  l.world = env_int("WORLD_SIZE", "SLURM_NTASKS", 1);
  l.local_rank = env_int("LOCAL_RANK", "SLURM_LOCALID", 0);
  l.master_addr = env("MASTER_ADDR", l.master_addr);
  l.master_port = env_int("MASTER_PORT", "", l.master_port);
  l.agent_store = env("TORCHELASTIC_USE_AGENT_STORE") == "True";
  l.attempt = env("TORCHELASTIC_RESTART_COUNT", "0");
  if (l.world < 1 || l.rank < 0 || l.rank >= l.world)
    throw Error("RANK " + std::to_string(l.rank) + " is outside 0.." + std::to_string(l.world - 1) + " (WORLD_SIZE " +
                std::to_string(l.world) + ")");
  return l;
}

// A store client; torchrun's agent keeps one store for every restart attempt, so each attempt has its own prefix.
c10::intrusive_ptr<c10d::Store> connect_store(const Launch& launch, bool server, std::chrono::seconds timeout) {
  c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(launch.master_port);
  options.isServer = server;
  if (server) options.numWorkers = static_cast<size_t>(launch.world);
  options.waitWorkers = false;
  options.timeout = timeout;
  c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::TCPStore>(launch.master_addr, options);
  if (launch.agent_store) store = c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + launch.attempt, store);
  return store;
}

struct Distributed::Group {
  c10::intrusive_ptr<c10d::Store> store, beat_store;  // the second for the heartbeat thread alone
  c10::intrusive_ptr<CollectiveBackend> ranks;
  // Every half second each rank publishes "<beat> <collectives entered> <step>": a rank that died or was stopped
  // stops beating, and one stuck in its own work beats without entering the collective the others wait in.
  std::atomic<int64_t> entered{0}, step{0};
  std::atomic<bool> stopping{false};
  std::thread heart;
};

Distributed::Distributed(const Launch& launch, const std::string& backend, std::chrono::seconds timeout)
    : launch_(launch), backend_(backend), timeout_(timeout), group_(std::make_unique<Group>()) {
  // A write to the socket of a rank that died raises SIGPIPE, which would end this rank at once and silently (torchrun
  // reports exit code -13) instead of letting the collective fail with an error that names the dead rank.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    group_->store = connect_store(launch, !launch.agent_store && launch.rank == 0, timeout);
    group_->beat_store = connect_store(launch, false, timeout);
  } catch (const std::exception& e) {
    throw Error("cannot reach the rendezvous store at " + launch.master_addr + ":" + std::to_string(launch.master_port) +
                " (" + first_line(e.what()) + ")");
  }
  group_->heart = std::thread([this] {
    const std::string key = "rhotrain/beat/" + std::to_string(rank());
    for (int64_t beat = 0; !group_->stopping; ++beat) {
      const std::string v = std::to_string(beat) + " " + std::to_string(group_->entered) + " " + std::to_string(group_->step);
      try {
        group_->beat_store->set(key, std::vector<uint8_t>(v.begin(), v.end()));
      } catch (const std::exception&) {
        return;  // the store is gone: the collectives will say so
      }
      for (int i = 0; i < 10 && !group_->stopping; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  if (backend == "gloo") {
    auto gloo = c10d::ProcessGroupGloo::Options::create(timeout);
    const std::string interface = env("GLOO_SOCKET_IFNAME");
    gloo->devices.push_back(interface.empty() ? c10d::ProcessGroupGloo::createDefaultDevice()
                                              : c10d::ProcessGroupGloo::createDeviceForInterface(interface));
    group_->ranks = guarded("joining the process group", [&] {
      return c10::make_intrusive<c10d::ProcessGroupGloo>(group_->store, launch.rank, launch.world, gloo);
    });
  } else if (backend == "nccl") {
#ifdef USE_C10D_NCCL
    auto nccl = c10d::ProcessGroupNCCL::Options::create();
    nccl->timeout = timeout;
    group_->ranks = c10::make_intrusive<c10d::ProcessGroupNCCL>(group_->store, launch.rank, launch.world, nccl);
#else
    throw Error("train.backend=nccl, but this LibTorch was built without NCCL (use gloo)");
#endif
  } else {
    throw Error("train.backend must be gloo or nccl, not '" + backend + "'");
  }
}

Distributed::~Distributed() {
  if (!group_) return;
  group_->stopping = true;
  if (group_->heart.joinable()) group_->heart.join();
}

namespace {

struct Beat {
  int64_t beat = -1, entered = 0, step = 0;
};

Beat read_beat(c10d::Store& store, int rank) {
  const std::string key = "rhotrain/beat/" + std::to_string(rank);
  Beat b;
  if (!store.check({key})) return b;
  const auto v = store.get(key);
  std::sscanf(std::string(v.begin(), v.end()).c_str(), "%ld %ld %ld", &b.beat, &b.entered, &b.step);
  return b;
}

}  // namespace

// Runs a collective; when it fails or times out, names the ranks that are to blame: those whose heartbeat stopped
// (dead, or stopped), and those alive that never entered this collective (stuck in their own work).
template <typename F>
auto Distributed::guarded(const char* what, F&& f) -> decltype(f()) {
  const int64_t mine = ++group_->entered;
  try {
    return f();
  } catch (const std::exception& e) {
    std::string blame;
    try {
      group_->store->setTimeout(std::min(timeout_, std::chrono::seconds(5)));
      std::vector<Beat> before(static_cast<size_t>(world())), after(static_cast<size_t>(world()));
      for (int r = 0; r < world(); ++r) before[static_cast<size_t>(r)] = read_beat(*group_->store, r);
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // three heartbeats
      for (int r = 0; r < world(); ++r) {
        if (r == rank()) continue;
        const Beat b = read_beat(*group_->store, r);
        std::string why;
        if (b.beat < 0) why = "never joined";
        else if (b.beat == before[static_cast<size_t>(r)].beat) why = "stopped responding (last heard from at step " + std::to_string(b.step) + ")";
        else if (b.entered < mine) why = "is stuck at step " + std::to_string(b.step);
        if (!why.empty()) blame += (blame.empty() ? "rank " : ", rank ") + std::to_string(r) + " " + why;
      }
    } catch (const std::exception&) {
      blame = rank() == 0 ? "the rendezvous store stopped answering" : "rank 0 is gone or hangs (it hosts the rendezvous store)";
    }
    throw Error(std::string(what) + " at step " + std::to_string(step_) + " failed: " +
                (blame.empty() ? "a rank stopped answering" : blame) + " (" + first_line(e.what()) +
                "; a rank that hangs is given up after train.dist_timeout_s = " + std::to_string(timeout_.count()) + " s)");
  }
}

void Distributed::at_step(int64_t step) {
  step_ = step;
  if (group_) group_->step = step;
}

// Tensors of any shapes through one collective per bucket of at most kBucketBytes: each bucket is flattened into one
// tensor, all buckets are sent before the first is waited for (so flattening and communication overlap), and the
// results are copied back into the tensors.
template <typename Collective>
void Distributed::bucketed(const char* what, const std::vector<at::Tensor>& tensors, Collective&& collective) {
  std::vector<std::vector<at::Tensor>> buckets(1);
  size_t bytes = 0;
  for (const auto& t : tensors) {
    const size_t b = static_cast<size_t>(t.numel()) * t.element_size();
    if (bytes + b > kBucketBytes && !buckets.back().empty()) buckets.emplace_back(), bytes = 0;
    buckets.back().push_back(t);
    bytes += b;
  }
  std::vector<std::vector<at::Tensor>> flat(buckets.size());
  guarded(what, [&] {
    std::vector<c10::intrusive_ptr<c10d::Work>> work;
    for (size_t i = 0; i < buckets.size(); ++i) {
      std::vector<at::Tensor> pieces;
      for (const auto& t : buckets[i]) pieces.push_back(t.reshape(-1));
      flat[i] = {at::cat(pieces)};
      work.push_back(collective(flat[i]));
    }
    for (auto& w : work) w->wait();
  });
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < buckets.size(); ++i) {
    int64_t offset = 0;
    for (auto& t : buckets[i]) {
      t.copy_(flat[i][0].narrow(0, offset, t.numel()).view_as(t));
      offset += t.numel();
    }
  }
}

void Distributed::broadcast(const std::vector<at::Tensor>& tensors) {
  if (world() == 1 || tensors.empty()) return;
  bucketed("broadcasting the weights", tensors, [&](std::vector<at::Tensor>& t) { return group_->ranks->broadcast(t); });
}

double Distributed::average_gradients(const std::vector<at::Tensor>& parameters) {
  if (world() == 1) return 0;
  const auto start = Clock::now();
  std::vector<at::Tensor> grads;
  for (const auto& p : parameters)
    if (p.grad().defined()) grads.push_back(p.grad());
  bucketed("averaging the gradients", grads, [&](std::vector<at::Tensor>& t) { return group_->ranks->allreduce(t); });
  for (auto& g : grads) g.div_(world());
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<double> Distributed::sum(std::vector<double> values) {
  if (world() == 1 || values.empty()) return values;
  std::vector<at::Tensor> t{at::tensor(values, at::kDouble)};
  guarded("summing over the ranks", [&] { group_->ranks->allreduce(t)->wait(); });
  const double* p = t[0].data_ptr<double>();
  return std::vector<double>(p, p + values.size());
}

std::vector<std::string> Distributed::all_gather(const std::string& bytes) {
  if (world() == 1) return {bytes};
  const std::string prefix = "rhotrain/gather/" + std::to_string(gathers_++) + "/";
  return guarded("gathering results", [&] {
    group_->store->set(prefix + std::to_string(rank()), std::vector<uint8_t>(bytes.begin(), bytes.end()));
    std::vector<std::string> out;
    for (int r = 0; r < world(); ++r) {
      const auto v = group_->store->get(prefix + std::to_string(r));
      out.emplace_back(v.begin(), v.end());
    }
    group_->ranks->barrier()->wait();  // nobody leaves (and rank 0 may not close the store) before all have read
    return out;
  });
}

void Distributed::barrier() {
  if (world() == 1) return;
  guarded("waiting for every rank", [&] { group_->ranks->barrier()->wait(); });
}

namespace {

std::unique_ptr<Distributed>& joined_group() {
  static std::unique_ptr<Distributed> group;
  return group;
}

// Ranks other than 0 print nothing unless asked; their errors still reach the terminal through a copy of stderr.
void quiet_this_rank() {
  std::fflush(stdout);
  std::fflush(stderr);
  g_error_stream = fdopen(dup(STDERR_FILENO), "w");
  if (!std::freopen("/dev/null", "w", stdout) || !std::freopen("/dev/null", "w", stderr))
    throw Error("cannot silence the output of this rank");
}

}  // namespace

Distributed& process_group() {
  static Distributed single;
  return joined_group() ? *joined_group() : single;
}

Distributed& join_process_group(const std::string& backend, bool on_cuda, int timeout_s, bool verbose) {
  if (joined_group()) return *joined_group();
  const Launch launch = launch_from_environment();
  if (launch.world == 1) return process_group();
  const std::string chosen = backend == "auto" ? (on_cuda ? "nccl" : "gloo") : backend;
  joined_group() = std::make_unique<Distributed>(launch, chosen, std::chrono::seconds(timeout_s));
  if (!joined_group()->is_main() && !verbose) quiet_this_rank();
  return *joined_group();
}

Distributed& join_process_group(const TrainSettings& t, bool verbose) {
  return join_process_group(t.backend, pick_device(t.device).is_cuda(), t.dist_timeout_s, verbose);
}

std::FILE* error_stream() { return g_error_stream ? g_error_stream : stderr; }

}  // namespace rhotrain
