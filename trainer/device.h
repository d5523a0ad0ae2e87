// Where a run computes: the LibTorch device a config names, and the CPU threads beside it.
#pragma once
#include <c10/core/Device.h>

#include <cstdint>
#include <string>

namespace rhotrain {

// "cpu", "cuda" or "auto" (CUDA when LibTorch sees a device); throws Error for "cuda" without one. On CUDA, the
// device of this rank's LOCAL_RANK.
c10::Device pick_device(const std::string& name);

// LibTorch intra-op threads (requested, or one per core when 0, divided among the ranks on this machine) over a
// single-threaded OpenBLAS: OpenBLAS's own spinning threads compete with LibTorch's (README, "Performance").
void configure_threads(int64_t requested);

}  // namespace rhotrain
