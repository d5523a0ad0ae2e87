// What differs between the LibTorch versions rhotrain builds against — Debian's 1.13 (CPU, CI) and 2.x with CUDA
// (GPU machines): fused attention, the autocast switches, the CUDA memory counters. Every version test lives here.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <string>

namespace rhotrain {

// The LibTorch this binary runs on, "1.13.1" or "2.11.0", and whether it was built with CUDA.
std::string torch_version();
bool torch_built_with_cuda();

// True where LibTorch has at::scaled_dot_product_attention with a scale argument (≥ 2.1).
bool fused_attention_available();

// softmax(q·kᵀ·scale, key j > query i masked when causal)·v over [B, H, n, d] tensors of one dtype (causal: as many
// queries as keys): one fused kernel (flash or memory-efficient attention on CUDA) where LibTorch has one, the same
// arithmetic in plain operations otherwise.
at::Tensor scaled_dot_product_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, bool causal,
                                        double scale);

// Autocast to `dtype` on devices of `type` for the scope's lifetime (matrix products in bf16, reductions and
// normalisations in fp32; weights stay fp32), the previous state restored on exit.
class AutocastScope {
 public:
  AutocastScope(c10::DeviceType type, c10::ScalarType dtype);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType type_;
  bool was_enabled_;
  c10::ScalarType previous_dtype_;
};

// The most bytes the CUDA caching allocator has held for tensors on device `index` since the process started;
// 0 in a LibTorch without CUDA (or built with RHOTRAIN_CUDA_MEMORY_STATS=OFF).
int64_t cuda_peak_allocated_bytes(int index);

}  // namespace rhotrain
