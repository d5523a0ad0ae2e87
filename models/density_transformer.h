// The density transformer: a Qwen3-style stack (RMSNorm, rotary positions, grouped-KV attention with
// q/k norm, SwiGLU) over the v3 token sequence, with logits over the density bins at the density slots.
// With geometry_bias it decodes lattice and atom positions from its own input tokens and biases the
// attention from every density slot to every atom token by a learned function of their distance.
#pragma once
#include <torch/torch.h>

#include "models/model_config.h"

namespace rhotrain {

// Geometry decoded from token sequences (no gradients: everything comes from integer tokens).
struct TokenGeometry {
  torch::Tensor distance;    // [B, P³, Nmax] minimum-image voxel–atom distance, Å
  torch::Tensor atom_valid;  // [B, Nmax] bool
};
TokenGeometry decode_geometry(const torch::Tensor& tokens, const torch::Tensor& dens_start, int patch);

class DensityTransformerImpl : public torch::nn::Module {
 public:
  explicit DensityTransformerImpl(const ModelConfig& c);

  // tokens [B, L] int64 (PAD-filled), dens_start [B] int64, hidden [B, P³] bool: density slots whose token
  // the model must not see (masked objective; ignored for causal). Returns logits [B, P³, bins] for every
  // density slot: read at the slot itself (masked) or one position earlier (causal, next-token).
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& dens_start, const torch::Tensor& hidden);

  const ModelConfig& config() const { return cfg_; }
  // Forward multiply-adds × 2 for one sequence of `length` tokens (for the FLOP/s report).
  double forward_flops(int64_t length) const;

 private:
  struct Layer {
    torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr}, gate{nullptr}, up{nullptr}, down{nullptr};
    torch::Tensor norm1, norm2, q_norm, k_norm;  // RMSNorm weights
    torch::nn::Linear rbf_to_heads{nullptr};     // geometry bias: RBF(distance) → per-head logit bias
    torch::Tensor distance_slope;                // per head: bias starts at slope·(2 Å − r)
  };
  ModelConfig cfg_;
  torch::nn::Embedding embed{nullptr};
  torch::Tensor mask_embedding, axis_embedding;  // [d], [3, P, d]
  std::vector<Layer> layers_;
  torch::Tensor final_norm;
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(DensityTransformer);

}  // namespace rhotrain
