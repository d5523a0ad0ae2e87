// Shape of the density transformer and the named presets (tiny for CPU; 30M and 200M shaped like the
// source study's models, for accelerators). Torch-free so configs and checks need not include LibTorch.
#pragma once
#include <string>

namespace rhotrain {

struct ModelConfig {
  int vocab = 0;         // 2186 + codec bins
  int density_bins = 0;  // size of the output softmax
  int patch = 6;         // P: density slots per sequence = P³
  int d_model = 128;
  int layers = 3;
  int heads = 4;
  int kv_heads = 4;      // grouped KV heads when < heads
  int ffn = 384;
  bool geometry_bias = true;
  int rbf = 16;          // radial basis functions of the geometry bias
  double rbf_cutoff = 6.0;  // Å
  int radial_bins = 48;        // geometry message: hat functions on [0, radial_cutoff)
  double radial_cutoff = 4.8;  // Å; every periodic image of an atom within it contributes
  int message_dim = 48;        // channels of the atom → voxel message
  bool attend_positions = false;  // with geometry_bias: keep the position tokens in the attended sequence
  bool causal = false;   // objective: causal (next token) or masked (bidirectional)
  bool atom_density_input = false;  // residual target: each density slot also sees ρ_atoms at its voxel
};

// How a model runs, apart from its shape and weights: attention through one fused kernel (models/torch_compat.h) or
// explicit logits, and autocast to bf16 on the input's device (fp32 weights and optimizer state either way).
struct ModelExecution {
  bool fused_attention = false;
  bool bf16 = false;
};

// Fills d_model, layers, heads, kv_heads, ffn (and geometry_bias for tiny) from a preset name.
// Throws Error for an unknown name.
void apply_model_preset(const std::string& name, ModelConfig& c);

}  // namespace rhotrain
