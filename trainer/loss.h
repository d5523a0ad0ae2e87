// The training objective: which density slots a masked model must predict in each sequence, and the loss —
// each slot's cross-entropy weighted by ρ^p of its true density (plus λ × its relative CRPS), averaged per
// sequence, then over the batch.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <vector>

#include "sampler/lmq_codec.h"

namespace rhotrain {

// MaskGIT training mask [B, P³] bool: per sequence a ratio γ = cos(π/2·r), r ~ U(0,1), of its density slots
// hidden — or, with `all_hidden` (train.mask: all), every slot, as one-shot prediction sees them. Drawn from each
// sequence's stream position, so it is the same whatever the batch size, rank or resume.
at::Tensor training_mask(const std::vector<uint64_t>& positions, int64_t slots, uint64_t seed, bool all_hidden = false);

// NMAE counts absolute errors, so a voxel's miss matters in proportion to its density: weighting each slot's
// cross-entropy by ρ^p of its true density (p = train.density_loss_power, 0 = plain cross-entropy) spends the model
// where NMAE looks — for the residual target too, whose tokens encode ρ − ρ_atoms.
class DensityLoss {
 public:
  // crps_weight (train.crps_weight) adds that multiple of each slot's CRPS over the ordered levels, relative to
  // the patch's mean density: a loss that knows which bins are near each other.
  DensityLoss(const LmqCodec& codec, double power, double crps_weight, c10::Device device);
  // logits [B, P³, bins], targets [B, P³] bins, hidden [B, P³] bool (masked objective: only hidden slots are
  // scored) or undefined (causal: every slot), loss_weight [B] (w_i / mean(w) in loss-weighting mode, else 1), atoms
  // [B, P³] ρ_atoms for the residual target (the true density is then ρ_atoms + the target's level), else undefined.
  at::Tensor operator()(const at::Tensor& logits, const at::Tensor& targets, const at::Tensor& hidden,
                        const at::Tensor& loss_weight, const at::Tensor& atoms = {}) const;

 private:
  at::Tensor levels_;      // [bins]
  at::Tensor bin_weight_;  // [bins] ρ^p of each bin's level (the density target)
  double power_ = 0, crps_weight_ = 0;
};

}  // namespace rhotrain
