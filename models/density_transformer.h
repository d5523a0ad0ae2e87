// The density transformer: token and periodic-table embeddings, a stack of TransformerBlocks over the v3 token
// sequence, and logits over the density bins at the density slots. With geometry_bias it decodes the lattice and
// atom positions from its own input tokens (models/geometry.h), adds to each density slot a message summed over
// every periodic image of every nearby atom, biases the attention from every density slot to every atom token by
// a learned function of their distance, and (unless attend_positions) runs the stack without the position tokens,
// whose content the geometry now carries.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <vector>

#include "models/geometry.h"
#include "models/model_config.h"
#include "models/transformer_block.h"

namespace rhotrain {

class AutocastScope;

class DensityTransformerImpl : public torch::nn::Module {
 public:
  explicit DensityTransformerImpl(const ModelConfig& c);

  // tokens [B, L] int64 (PAD-filled), dens_start [B] int64, hidden [B, P³] bool: density slots whose token
  // the model must not see (masked objective; ignored for causal); atoms [B, P³] float: ρ_atoms at each density slot
  // (models with atom_density_input, whose density tokens are the residual ρ − ρ_atoms). Returns logits [B, P³, bins]
  // for every density slot: read at the slot itself (masked) or one position earlier (causal, next-token).
  torch::Tensor forward(const torch::Tensor& tokens, const torch::Tensor& dens_start, const torch::Tensor& hidden,
                        const torch::Tensor& atoms = {});

  // Free-running causal decoding with a KV cache (causal models; every sequence of the batch has the same
  // length and DENS_START at `dens_start`). start_decoding runs the sequence up to DENS_START (its density
  // tokens are never read) and returns the logits [B, bins] of the first density slot; each decode_next
  // feeds the token [B] chosen for the current slot and returns the logits of the next one.
  struct DecodeCache {
    std::vector<torch::Tensor> keys, values;  // per block [B, heads, positions so far, head dim]
    std::vector<torch::Tensor> slot_bias;     // per block [B, heads, P³, atoms] (geometry_bias)
    torch::Tensor key_extra;                  // fused attention with geometry: every position's atom columns
    torch::Tensor slot_input, cos, sin;       // [B, P³, d]; rotary tables for every position
    int64_t dens_start = 0, next_slot = 0;    // DENS_START in the sequence the stack runs over
  };
  torch::Tensor start_decoding(const torch::Tensor& tokens, int64_t dens_start, DecodeCache& cache, const torch::Tensor& atoms = {});
  torch::Tensor decode_next(const torch::Tensor& token, DecodeCache& cache);

  // How forward and decoding run (model_config.h); logits come back in fp32 either way.
  void set_execution(const ModelExecution& e) { exec_ = e; }
  const ModelExecution& execution() const { return exec_; }

  const ModelConfig& config() const { return cfg_; }
  // Forward multiply-adds × 2 of the stack and the head for one sequence of `length` tokens (for the FLOP/s
  // report; the geometry message depends on the species count and is left out, so the figure is a floor).
  double forward_flops(int64_t length) const;

 private:
  // What forward and decoding share: embedded inputs (slot inputs added), rotary tables, geometry.
  struct Inputs {
    torch::Tensor tokens, dens_start;  // what the stack runs over (without position tokens, unless attended)
    torch::Tensor x, slots, batch_idx, slot_input, cos, sin, rbf, distance, atom_valid;
  };
  Inputs prepare(const torch::Tensor& sequence, const torch::Tensor& sequence_dens_start, const torch::Tensor& hidden,
                 const torch::Tensor& atoms);
  torch::Tensor embed_tokens(const torch::Tensor& tokens);
  // The geometry message into each density slot [B, P³, d].
  torch::Tensor geometry_message(const torch::Tensor& x, const TokenGeometry& g);
  torch::Tensor logits(const torch::Tensor& hidden);
  TransformerBlockImpl& block(size_t i) { return *blocks[i]->as<TransformerBlockImpl>(); }
  // Null unless exec_ asks for bf16.
  std::unique_ptr<AutocastScope> autocast(const torch::Device& device) const;

  ModelConfig cfg_;
  ModelExecution exec_;
  torch::nn::Embedding embed{nullptr};
  // Species tokens also carry their place in the periodic table (fixed features, learned map), so what
  // is learned about one element carries over to its neighbours; other tokens have zero features.
  torch::Tensor element_table;  // [vocab, kElementFeatures]
  torch::nn::Linear element_embedding{nullptr};
  torch::Tensor mask_embedding, axis_embedding;  // [d], [3, P, d]
  torch::nn::ModuleList blocks{nullptr};
  // Geometry message into each density slot: Σ over species s of (histogram(s) · radial_filter) ⊙ species(s).
  torch::nn::Linear radial_filter{nullptr}, atom_species{nullptr}, message_out{nullptr};
  torch::Tensor species_norm;
  torch::Tensor final_norm;
  torch::nn::Linear head{nullptr};
  // ρ_atoms at a density slot, on a few log-like scales, into the slot's input (atom_density_input).
  torch::nn::Linear atom_density{nullptr};
};
TORCH_MODULE(DensityTransformer);

}  // namespace rhotrain
