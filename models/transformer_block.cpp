#include "models/transformer_block.h"

#include <torch/nn.h>

#include <cmath>

namespace rhotrain {
namespace {

// Rotary embedding on the last dimension (split halves).
torch::Tensor rotary(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  auto x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
  return torch::cat({x1 * cos - x2 * sin, x1 * sin + x2 * cos}, -1);
}

}  // namespace

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight) {
  return x * torch::rsqrt(x.pow(2).mean(-1, true) + 1e-6) * weight;
}

// Scaled on q: the same product as dividing the scores, without a pass over [B, heads, L, L].
torch::Tensor attention_scores(const torch::Tensor& q, const torch::Tensor& k) {
  return torch::matmul(q * (1.0 / std::sqrt(static_cast<double>(q.size(-1)))), k.transpose(-2, -1));
}

// The order in which weights are created and initialised fixes the random stream under a seed: keep it.
TransformerBlockImpl::TransformerBlockImpl(const ModelConfig& c)
    : d_model_(c.d_model), heads_(c.heads), kv_heads_(c.kv_heads) {
  const int d = c.d_model, dh = c.d_model / c.heads;
  auto linear = [&](const char* name, int in, int out) {
    auto m = register_module(name, torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false)));
    torch::nn::init::normal_(m->weight, 0.0, 0.02);
    return m;
  };
  q = linear("q", d, c.heads * dh);
  k = linear("k", d, c.kv_heads * dh);
  v = linear("v", d, c.kv_heads * dh);
  o = linear("o", c.heads * dh, d);
  gate = linear("gate", d, c.ffn);
  up = linear("up", d, c.ffn);
  down = linear("down", c.ffn, d);
  {
    // Residual-branch outputs start small so the stack starts close to the identity.
    torch::NoGradGuard no_grad;
    o->weight.mul_(1.0 / std::sqrt(2.0 * c.layers));
    down->weight.mul_(1.0 / std::sqrt(2.0 * c.layers));
  }
  norm1 = register_parameter("norm1", torch::ones({d}));
  norm2 = register_parameter("norm2", torch::ones({d}));
  q_norm = register_parameter("q_norm", torch::ones({dh}));
  k_norm = register_parameter("k_norm", torch::ones({dh}));
  if (c.geometry_bias) {
    // Each head starts with a bias that falls with distance, γ_h·(2 Å − r), γ_h = 1…4: a zero start
    // leaves the ~P³ density keys swamping the atom keys and nothing is learned (see PITFALLS).
    rbf_to_heads = register_module("rbf_to_heads", torch::nn::Linear(torch::nn::LinearOptions(c.rbf, c.heads).bias(false)));
    torch::nn::init::zeros_(rbf_to_heads->weight);
    distance_slope = register_parameter("distance_slope", torch::linspace(1.0, 4.0, c.heads));
  }
}

std::array<torch::Tensor, 3> TransformerBlockImpl::attention_inputs(const torch::Tensor& x, const torch::Tensor& cos,
                                                                    const torch::Tensor& sin) {
  const int64_t B = x.size(0), n = x.size(1), H = heads_, KV = kv_heads_, dh = d_model_ / heads_;
  auto h = rms_norm(x, norm1);
  auto queries = rotary(rms_norm(q->forward(h).view({B, n, H, dh}), q_norm).transpose(1, 2), cos, sin);
  auto keys = rotary(rms_norm(k->forward(h).view({B, n, KV, dh}), k_norm).transpose(1, 2), cos, sin);
  auto values = v->forward(h).view({B, n, KV, dh}).transpose(1, 2);
  if (KV != H) {
    keys = keys.repeat_interleave(H / KV, 1);
    values = values.repeat_interleave(H / KV, 1);
  }
  return {queries, keys, values};
}

torch::Tensor TransformerBlockImpl::finish(const torch::Tensor& x, const torch::Tensor& attention) {
  auto attn = attention.transpose(1, 2).reshape({x.size(0), x.size(1), d_model_});
  auto y = x + o->forward(attn);
  auto m = rms_norm(y, norm2);
  return y + down->forward(torch::silu(gate->forward(m)) * up->forward(m));
}

torch::Tensor TransformerBlockImpl::slot_bias(const torch::Tensor& rbf, const torch::Tensor& distance,
                                              const torch::Tensor& atom_valid) {
  auto bias = rbf_to_heads->forward(rbf) + distance_slope * (2.0 - distance.unsqueeze(-1));  // [B, V, N, H]
  return (bias * atom_valid.view({atom_valid.size(0), 1, -1, 1})).permute({0, 3, 1, 2});    // [B, H, V, N]
}

}  // namespace rhotrain
