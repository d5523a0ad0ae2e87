#include "models/torch_compat.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#ifdef RHOTRAIN_CUDA_MEMORY_STATS
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <limits>

#define RHOTRAIN_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace rhotrain {

std::string torch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." + std::to_string(TORCH_VERSION_PATCH);
}

bool torch_built_with_cuda() {
#ifdef RHOTRAIN_CUDA
  return true;
#else
  return false;
#endif
}

bool fused_attention_available() { return RHOTRAIN_TORCH_AT_LEAST(2, 1); }

at::Tensor scaled_dot_product_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, bool causal,
                                        double scale) {
#if RHOTRAIN_TORCH_AT_LEAST(2, 1)
  return at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, /*dropout_p=*/0.0, causal, scale);
#else
  auto scores = at::matmul(q * scale, k.transpose(-2, -1));
  if (causal) {
    const int64_t n = q.size(-2);
    TORCH_CHECK(k.size(-2) == n, "causal attention needs as many queries as keys");
    scores = scores.masked_fill(at::ones({n, n}, q.options().dtype(at::kBool)).triu(1), -std::numeric_limits<float>::infinity());
  }
  return at::matmul(at::softmax(scores, -1), v);
#endif
}

#if RHOTRAIN_TORCH_AT_LEAST(2, 4)
// 2.4 made the switches per device type; the 1.13 names below are deprecated there.
namespace {
bool autocast_enabled(c10::DeviceType t) { return at::autocast::is_autocast_enabled(t); }
void set_autocast_enabled(c10::DeviceType t, bool on) { at::autocast::set_autocast_enabled(t, on); }
c10::ScalarType autocast_dtype(c10::DeviceType t) { return at::autocast::get_autocast_dtype(t); }
void set_autocast_dtype(c10::DeviceType t, c10::ScalarType d) { at::autocast::set_autocast_dtype(t, d); }
}  // namespace
#else
namespace {
bool autocast_enabled(c10::DeviceType t) { return t == c10::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled(); }
void set_autocast_enabled(c10::DeviceType t, bool on) {
  if (t == c10::kCUDA) at::autocast::set_enabled(on);
  else at::autocast::set_cpu_enabled(on);
}
c10::ScalarType autocast_dtype(c10::DeviceType t) {
  return t == c10::kCUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
}
void set_autocast_dtype(c10::DeviceType t, c10::ScalarType d) {
  if (t == c10::kCUDA) at::autocast::set_autocast_gpu_dtype(d);
  else at::autocast::set_autocast_cpu_dtype(d);
}
}  // namespace
#endif

// As Python's torch.autocast: the cache of casted weights lives while any scope is open.
AutocastScope::AutocastScope(c10::DeviceType type, c10::ScalarType dtype)
    : type_(type), was_enabled_(autocast_enabled(type)), previous_dtype_(autocast_dtype(type)) {
  set_autocast_enabled(type_, true);
  set_autocast_dtype(type_, dtype);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast_enabled(type_, was_enabled_);
  set_autocast_dtype(type_, previous_dtype_);
}

int64_t cuda_peak_allocated_bytes(int index) {
#ifdef RHOTRAIN_CUDA_MEMORY_STATS
  // Element 0 of each statistic is the aggregate over pool types, in every version.
  return c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(index)).allocated_bytes[0].peak;
#else
  (void)index;
  return 0;
#endif
}

}  // namespace rhotrain
