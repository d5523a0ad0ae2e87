// One block of the density transformer, Qwen3-style: pre-norm grouped-KV attention with q/k RMSNorm and rotary
// positions, then a SwiGLU MLP; with geometry, a per-head bias on the attention from each density slot to each atom.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <array>

#include "models/model_config.h"

namespace rhotrain {

// x / rms(x) · weight over the last dimension.
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight);
// Attention logits q·kᵀ/√d_head [B, H, n_q, n_k].
torch::Tensor attention_scores(const torch::Tensor& q, const torch::Tensor& k);

// The block's two halves are separate calls because the caller owns the attention: it adds the padding or causal
// mask and the geometry bias to explicit logits or folds them into a fused kernel's inputs, and the KV-cached decoder
// attends over cached keys.
class TransformerBlockImpl : public torch::nn::Module {
 public:
  explicit TransformerBlockImpl(const ModelConfig& c);

  // Queries, keys and values of rows x [B, n, d] at rotary rows cos/sin [1, 1, n, d_head/2], each
  // [B, heads, n, d_head] (grouped keys and values repeated to every head).
  std::array<torch::Tensor, 3> attention_inputs(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);
  // The attention output [B, heads, n, d_head] through the output projection onto the residual x, then the MLP
  // onto the residual.
  torch::Tensor finish(const torch::Tensor& x, const torch::Tensor& attention);
  // Geometry bias [B, heads, P³, N] from radial basis functions rbf [B, P³, N, K] of the slot–atom distances
  // [B, P³, N]; zero for atoms past each sequence's last (atom_valid [B, N]).
  torch::Tensor slot_bias(const torch::Tensor& rbf, const torch::Tensor& distance, const torch::Tensor& atom_valid);

 private:
  int d_model_, heads_, kv_heads_;
  torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr}, gate{nullptr}, up{nullptr}, down{nullptr};
  torch::Tensor norm1, norm2, q_norm, k_norm;  // RMSNorm weights
  torch::nn::Linear rbf_to_heads{nullptr};     // geometry: RBF(distance) → a logit bias per head
  torch::Tensor distance_slope;                // per head: the bias starts at slope·(2 Å − r)
};
TORCH_MODULE(TransformerBlock);

}  // namespace rhotrain
