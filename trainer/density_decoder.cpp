#include "trainer/density_decoder.h"

#include <ATen/ATen.h>

#include <vector>

namespace rhotrain {

at::Tensor bin_cells(const LmqCodec& codec, c10::Device device) {
  const auto& b = codec.boundaries();
  std::vector<float> level(codec.levels().begin(), codec.levels().end()), lower = {static_cast<float>(codec.clip_min())},
                     upper(b.begin(), b.end());
  lower.insert(lower.end(), b.begin(), b.end());
  upper.push_back(static_cast<float>(codec.clip_max()));
  return at::stack({at::tensor(level), at::tensor(lower), at::tensor(upper)}).to(device);
}

at::Tensor decode_values(const at::Tensor& probs, const at::Tensor& cells, const std::string& how) {
  const auto levels = cells[0];
  if (how == "mean") return at::matmul(probs, levels);
  if (how == "argmax") return levels.index_select(0, probs.argmax(-1).flatten()).view(probs.sizes().slice(0, probs.dim() - 1));
  const auto cdf = probs.cumsum(-1);
  const auto bin = (cdf < 0.5).sum(-1, true).clamp_max(levels.size(0) - 1);  // first bin with CDF ≥ ½
  auto at_bin = [&](const at::Tensor& row) { return row.index_select(0, bin.flatten()).view(bin.sizes().slice(0, bin.dim() - 1)); };
  if (how == "median") return at_bin(levels);
  const auto mass = probs.gather(-1, bin).squeeze(-1);
  const auto before = cdf.gather(-1, bin).squeeze(-1) - mass;
  const auto t = ((0.5 - before) / mass.clamp_min(1e-12)).clamp(0, 1);  // where ½ falls within the bin's mass
  const auto level = at_bin(levels), lower = at_bin(cells[1]), upper = at_bin(cells[2]);
  return at::where(t < 0.5, lower + 2 * t * (level - lower), level + (2 * t - 1) * (upper - level));
}

}  // namespace rhotrain
