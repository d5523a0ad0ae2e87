// The processes a run computes in: one, or the ranks a launcher started (torchrun, srun), joined through c10d's
// TCPStore and a Gloo (CPU) or NCCL (CUDA) process group — LibTorch's own distributed engine, not a home-made one.
// Rank 0 writes the run's files; every collective names the rank that failed or hung instead of waiting forever.
#pragma once
#include <ATen/core/Tensor.h>

#include <chrono>
#include <cstdio>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "trainer/settings.h"

namespace rhotrain {

// The standard launcher contract: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT (torchrun sets them;
// under srun, SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID stand in for the first three). One process when unset.
struct Launch {
  int rank = 0, world = 1, local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool agent_store = false;  // torchrun's agent hosts the TCPStore (TORCHELASTIC_USE_AGENT_STORE)
  std::string attempt = "0";  // TORCHELASTIC_RESTART_COUNT: the store prefix of this attempt
};
Launch launch_from_environment();

class Distributed {
 public:
  // One process: every collective is the identity.
  Distributed() = default;
  // Joins the ranks of `launch`: the TCPStore (hosted by rank 0, or by torchrun's agent), then a process group of
  // `backend` ("gloo" or "nccl"). Every collective and store operation gives up after `timeout`.
  Distributed(const Launch& launch, const std::string& backend, std::chrono::seconds timeout);
  ~Distributed();
  Distributed(const Distributed&) = delete;
  Distributed& operator=(const Distributed&) = delete;

  int rank() const { return launch_.rank; }
  int world() const { return launch_.world; }
  bool is_main() const { return launch_.rank == 0; }
  const std::string& backend() const { return backend_; }

  // The step the collectives below belong to, for the message that names a rank that fails or hangs.
  void at_step(int64_t step);
  // Rank 0's values of `tensors` on every rank (identical initial weights).
  void broadcast(const std::vector<at::Tensor>& tensors);
  // Every gradient averaged over the ranks, in buckets of at most 25 MB (one all-reduce each, not one per tensor).
  // Returns the seconds spent.
  double average_gradients(const std::vector<at::Tensor>& parameters);
  // Element-wise sums over the ranks of a few numbers (the step's loss, a stop request).
  std::vector<double> sum(std::vector<double> values);
  bool any(bool flag) { return sum({flag ? 1.0 : 0.0})[0] > 0; }
  // Every rank's `bytes`, in rank order, on every rank (through the store: for small payloads such as eval rows).
  std::vector<std::string> all_gather(const std::string& bytes);
  void barrier();

 private:
  struct Group;
  template <typename F>
  auto guarded(const char* what, F&& f) -> decltype(f());
  template <typename Collective>
  void bucketed(const char* what, const std::vector<at::Tensor>& tensors, Collective&& collective);
  Launch launch_;
  std::string backend_ = "none";
  std::chrono::seconds timeout_{0};
  int64_t step_ = 0, gathers_ = 0;
  std::unique_ptr<Group> group_;
};

// The process's group: a single process until join_process_group joins the launcher's ranks.
Distributed& process_group();
// Joins the ranks the environment names (nothing to join without a launcher) with backend "auto" (NCCL when the
// run is on CUDA, Gloo otherwise), "gloo" or "nccl". Ranks other than 0 keep stdout and stderr quiet unless
// `verbose`; their errors still reach the terminal. Joins once: later calls return the same group.
Distributed& join_process_group(const std::string& backend, bool on_cuda, int timeout_s, bool verbose);
// The same for a run: its train.backend, train.device and train.dist_timeout_s.
Distributed& join_process_group(const TrainSettings& t, bool verbose);

// Where the one-line error of a failed command goes: stderr, as it was before a quiet rank silenced it.
std::FILE* error_stream();

}  // namespace rhotrain
