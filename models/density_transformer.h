// The density transformer: a Qwen3-style stack (RMSNorm, rotary positions, grouped-KV attention with
// q/k norm, SwiGLU) over the v3 token sequence, with logits over the density bins at the density slots.
// With geometry_bias it decodes lattice and atom positions from its own input tokens, biases the
// attention from every density slot to every atom token by a learned function of their distance, adds to
// each density slot a message summed over every periodic image of every nearby atom, and (unless
// attend_positions) runs the stack without the position tokens, whose content the geometry now carries.
#pragma once
#include <torch/torch.h>

#include <array>
#include <vector>

#include "models/model_config.h"

namespace rhotrain {

// Geometry decoded from token sequences (no gradients: everything comes from integer tokens).
struct TokenGeometry {
  torch::Tensor offset;      // [B, P³, Nmax, 3] float64 voxel − atom, minimum image in fractional coordinates, Å
  torch::Tensor distance;    // [B, P³, Nmax] its length, float32
  torch::Tensor lattice;     // [B, 3, 3] float64, rows a, b, c
  torch::Tensor atom_valid;  // [B, Nmax] bool
  torch::Tensor species;     // [B, Nmax] int64 species token of each atom, −1 past the last atom
};
TokenGeometry decode_geometry(const torch::Tensor& tokens, const torch::Tensor& dens_start, int patch);

// Radial histogram of each species' atoms around each density slot: every periodic image of every atom
// within `cutoff` adds a hat function (linear interpolation between bin centres 0, Δ, 2Δ, …, Δ = cutoff/bins,
// falling to zero at the cutoff) to its species' row. Small cells put several images of one atom inside
// the cutoff, and the density there is their sum, which the minimum image alone misses.
struct SpeciesHistogram {
  torch::Tensor histogram;   // [B, P³, S, bins] float32, S = most species in one sequence of the batch
  torch::Tensor first_atom;  // [B, S] int64: the first atom of each species, species in order of first appearance
  torch::Tensor valid;       // [B, S] bool
};
SpeciesHistogram species_radial_histogram(const TokenGeometry& g, double cutoff, int bins);

class DensityTransformerImpl : public torch::nn::Module {
 public:
  explicit DensityTransformerImpl(const ModelConfig& c);

  // tokens [B, L] int64 (PAD-filled), dens_start [B] int64, hidden [B, P³] bool: density slots whose token
  // the model must not see (masked objective; ignored for causal). Returns logits [B, P³, bins] for every
  // density slot: read at the slot itself (masked) or one position earlier (causal, next-token).
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& dens_start, const torch::Tensor& hidden);

  // Free-running causal decoding with a KV cache (causal models; every sequence of the batch has the same
  // length and DENS_START at `dens_start`). start_decoding runs the sequence up to DENS_START (its density
  // tokens are never read) and returns the logits [B, bins] of the first density slot; each decode_next
  // feeds the token [B] chosen for the current slot and returns the logits of the next one.
  struct DecodeCache {
    std::vector<torch::Tensor> keys, values;  // per layer [B, heads, positions so far, head dim]
    std::vector<torch::Tensor> slot_bias;     // per layer [B, heads, P³, atoms] (geometry_bias)
    torch::Tensor slot_input, cos, sin;       // [B, P³, d]; rotary tables for every position
    int64_t dens_start = 0, next_slot = 0;  // DENS_START in the sequence the stack runs over
  };
  torch::Tensor start_decoding(const torch::Tensor& tokens, int64_t dens_start, DecodeCache& cache);
  torch::Tensor decode_next(const torch::Tensor& token, DecodeCache& cache);

  const ModelConfig& config() const { return cfg_; }
  // Forward multiply-adds × 2 of the stack and the head for one sequence of `length` tokens (for the FLOP/s
  // report; the geometry message depends on the species count and is left out, so the figure is a floor).
  double forward_flops(int64_t length) const;

 private:
  struct Layer {
    torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr}, gate{nullptr}, up{nullptr}, down{nullptr};
    torch::Tensor norm1, norm2, q_norm, k_norm;  // RMSNorm weights
    torch::nn::Linear rbf_to_heads{nullptr};     // geometry bias: RBF(distance) → per-head logit bias
    torch::Tensor distance_slope;                // per head: bias starts at slope·(2 Å − r)
  };
  // Geometry message into each density slot: Σ over atoms n of (histogram(n) · radial_filter) ⊙ species(n).
  torch::nn::Linear radial_filter{nullptr}, atom_species{nullptr}, message_out{nullptr};
  torch::Tensor species_norm;
  // What forward and decoding share: embedded inputs (slot inputs added), rotary tables, geometry.
  struct Inputs {
    torch::Tensor tokens, dens_start;  // what the stack runs over (without position tokens, unless attended)
    torch::Tensor x, slots, batch_idx, slot_input, cos, sin, rbf, distance, atom_valid;
  };
  Inputs prepare(const torch::Tensor& sequence, const torch::Tensor& sequence_dens_start, const torch::Tensor& hidden);
  torch::Tensor embed_tokens(const torch::Tensor& tokens);
  torch::Tensor slot_bias(Layer& layer, const Inputs& in);  // [B, heads, P³, atoms]
  // Queries, keys and values of rows x [B, n, d] at rotary rows cos/sin [1, 1, n, dh/2], keys/values expanded to all heads.
  std::array<torch::Tensor, 3> project(Layer& layer, const torch::Tensor& x, const torch::Tensor& cos,
                                       const torch::Tensor& sin);
  // Attention output → residual, then the MLP → residual.
  torch::Tensor finish_block(Layer& layer, const torch::Tensor& x, const torch::Tensor& scores,
                             const torch::Tensor& v);
  torch::Tensor logits(const torch::Tensor& hidden);

  ModelConfig cfg_;
  torch::nn::Embedding embed{nullptr};
  // Species tokens also carry their place in the periodic table (fixed features, learned map), so what
  // is learned about one element carries over to its neighbours; other tokens have zero features.
  torch::Tensor element_table;  // [vocab, kElementFeatures]
  torch::nn::Linear element_embedding{nullptr};
  torch::Tensor mask_embedding, axis_embedding;  // [d], [3, P, d]
  std::vector<Layer> layers_;
  torch::Tensor final_norm;
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(DensityTransformer);

}  // namespace rhotrain
