#include "trainer/loss.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/random.h"

namespace rhotrain {

at::Tensor training_mask(const std::vector<uint64_t>& positions, int64_t slots, uint64_t seed, bool all_hidden) {
  if (all_hidden) return at::ones({static_cast<int64_t>(positions.size()), slots}, at::kBool);
  auto hidden = at::zeros({static_cast<int64_t>(positions.size()), slots}, at::kBool);
  auto h = hidden.accessor<bool, 2>();
  std::vector<int64_t> order(static_cast<size_t>(slots));
  for (size_t r = 0; r < positions.size(); ++r) {
    Rng rng(mix_seed(mix_seed(seed, 0x6d61736b), positions[r]));
    const double ratio = std::cos(M_PI / 2 * rng.uniform());
    const int64_t count = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(ratio * slots)), 1, slots);
    std::iota(order.begin(), order.end(), 0);
    for (int64_t i = 0; i < count; ++i) {  // partial Fisher–Yates: the first `count` of a random order
      std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(i) + rng.below(static_cast<uint64_t>(slots - i))]);
      h[static_cast<int64_t>(r)][order[static_cast<size_t>(i)]] = true;
    }
  }
  return hidden;
}

// Levels are clamped at a tiny positive value: a codec fitted on real densities can have a level ≤ 0.
DensityLoss::DensityLoss(const LmqCodec& codec, double power, double crps_weight, c10::Device device)
    : levels_(at::tensor(std::vector<float>(codec.levels().begin(), codec.levels().end())).to(device)),
      bin_weight_(levels_.clamp_min(1e-12).pow(power)),
      power_(power),
      crps_weight_(crps_weight) {}

at::Tensor DensityLoss::operator()(const at::Tensor& logits, const at::Tensor& targets, const at::Tensor& hidden,
                                   const at::Tensor& loss_weight, const at::Tensor& atoms) const {
  const int64_t B = targets.size(0), slots = targets.size(1);
  auto scored = hidden.defined() ? hidden.to(at::kFloat) : at::ones({B, slots}, targets.options().dtype(at::kFloat));
  auto ce = at::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}), targets.reshape(-1), {}, at::Reduction::None)
                .view({B, slots});
  const auto hidden_slots = scored;
  // The true density of each slot: its level, or over the atomic baseline for a residual.
  const auto truth = atoms.defined() ? levels_.index({targets}) + atoms.to(logits.device()) : at::Tensor();
  scored = scored * (atoms.defined() ? truth.clamp_min(1e-12).pow(power_) : bin_weight_.index({targets}));
  auto per_sequence = (ce * scored).sum(1) / scored.sum(1);
  if (crps_weight_ > 0) {
    // CRPS of each slot's distribution over the ordered levels: Σ_k (F_k − 1[target ≤ k])² (l_{k+1} − l_k), the
    // L1 distance between the predicted and the true value integrated over thresholds. Cross-entropy alone treats
    // a neighbouring bin like a distant one; NMAE does not. Divided by the patch's mean true density, so that a
    // patch's term is relative, as NMAE is.
    const int64_t C = logits.size(-1);
    const auto cdf = at::softmax(logits, -1).cumsum(-1).narrow(-1, 0, C - 1);
    const auto step = (at::arange(C - 1, targets.options()).view({1, 1, C - 1}) >= targets.unsqueeze(-1)).to(at::kFloat);
    const auto width = (levels_.narrow(0, 1, C - 1) - levels_.narrow(0, 0, C - 1)).view({1, 1, C - 1});
    const auto crps = ((cdf - step).pow(2) * width).sum(-1);  // [B, slots]
    const auto scale = (atoms.defined() ? truth : levels_.index({targets})).abs().mean(1).clamp_min(1e-6);
    per_sequence = per_sequence + crps_weight_ * (crps * hidden_slots).sum(1) / hidden_slots.sum(1) / scale;
  }
  return (per_sequence * loss_weight.to(logits.device())).mean();
}

}  // namespace rhotrain
