#include "trainer/device.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "common/cpus.h"
#include "common/error.h"
#include "models/torch_compat.h"

namespace rhotrain {

c10::Device pick_device(const std::string& name) {
  if (name == "cuda" || (name == "auto" && torch::cuda::is_available())) {
    if (!torch::cuda::is_available()) throw Error("train.device=cuda but no CUDA device is available to LibTorch");
    // One GPU per rank: a launcher's LOCAL_RANK picks this process's device on its machine.
    const char* local = std::getenv("LOCAL_RANK");
    const int index = (local ? std::atoi(local) : 0) % static_cast<int>(std::max<size_t>(1, torch::cuda::device_count()));
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  return c10::Device(c10::kCPU);
}

ModelExecution model_execution(const std::string& precision, const std::string& attention, const c10::Device& device) {
  if (attention == "fused" && !fused_attention_available())
    throw Error("train.attention=fused needs LibTorch 2.1 or newer; this is " + torch_version() + " (use auto or explicit)");
  ModelExecution e;
  e.fused_attention = attention == "fused" || (attention == "auto" && fused_attention_available());
  e.bf16 = precision == "bf16" || (precision == "auto" && device.is_cuda());
  return e;
}

std::string describe(const ModelExecution& e) {
  return std::string(e.bf16 ? "bf16" : "fp32") + ", " + (e.fused_attention ? "fused" : "explicit") + " attention (LibTorch " +
         torch_version() + (torch_built_with_cuda() ? " with CUDA" : "") + ")";
}

std::string configure_threads(int64_t requested) {
  // Shared by the ranks a launcher started on this machine (torchrun's LOCAL_WORLD_SIZE, Slurm's SLURM_NTASKS_PER_NODE).
  const char* local = std::getenv("LOCAL_WORLD_SIZE") ? std::getenv("LOCAL_WORLD_SIZE") : std::getenv("SLURM_NTASKS_PER_NODE");
  const int ranks_here = local ? std::max(1, std::atoi(local)) : 1;
  const UsableCpus cpus = usable_cpus();
  const int n = requested > 0 ? static_cast<int>(requested) : std::max(1, cpus.count / ranks_here);
  at::set_num_threads(n);
  using SetThreads = void (*)(int);
  if (auto set_blas = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set_blas(1);
  std::string why = requested > 0 ? "train.threads" : cpus.why + (ranks_here > 1 ? ", shared by " + std::to_string(ranks_here) + " ranks" : "");
  const char* spin = std::getenv("GOMP_SPINCOUNT");
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  why += policy ? std::string("; OMP_WAIT_POLICY=") + policy : spin ? std::string("; idle threads sleep after GOMP_SPINCOUNT=") + spin + " spins" : "";
  return std::to_string(n) + (n == 1 ? " thread" : " threads") + " (" + why + ")";
}

}  // namespace rhotrain
