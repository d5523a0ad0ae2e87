// Where a run computes: the LibTorch device a config names, and the CPU threads beside it.
#pragma once
#include <c10/core/Device.h>

#include <cstdint>
#include <string>

#include "models/model_config.h"

namespace rhotrain {

// "cpu", "cuda" or "auto" (CUDA when LibTorch sees a device); throws Error for "cuda" without one. On CUDA, the
// device of this rank's LOCAL_RANK.
c10::Device pick_device(const std::string& name);

// How the model runs on `device` under train.precision and train.attention ("auto": bf16 on CUDA, else fp32; fused
// attention where this LibTorch has it). Throws Error for fused attention on a LibTorch without it.
ModelExecution model_execution(const std::string& precision, const std::string& attention, const c10::Device& device);
// "bf16, fused attention (LibTorch 2.11.0)": for the run's announcement.
std::string describe(const ModelExecution& e);

// LibTorch intra-op threads (requested, or when 0 one per CPU this process may use — its affinity mask and cgroup
// quota — divided among the ranks on this machine) over a single-threaded OpenBLAS: OpenBLAS's own spinning threads
// compete with LibTorch's (README, "Performance"). Returns how many and why, for the run's announcement.
std::string configure_threads(int64_t requested);

}  // namespace rhotrain
