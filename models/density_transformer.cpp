#include "models/density_transformer.h"

#include <torch/nn.h>

#include <cmath>
#include <limits>

#include "common/elements.h"
#include "models/torch_compat.h"
#include "sampler/v3_layout.h"

namespace rhotrain {
namespace {

// The output logits are scaled up: AdamW moves each head weight by about lr per step, so a unit-scale head
// needs hundreds of steps before its distributions over the bins can be sharp (README, "The model").
constexpr double kLogitScale = 8.0;

// Fused attention takes no additive mask (one would be an L×L tensor per head: 1.5 GB a sequence at P=19, 16 heads).
// Extra head dimensions carry what the explicit path adds to the logits instead: the query of density slot i holds
// its geometry bias to atom a in column a, which meets a one in column a of atom a's species-token key; and every
// query holds a one that meets −10⁴ in the keys of padding tokens. Then q'·k' = q·k/√d + bias − 10⁴·[padding key].
constexpr double kPaddingPenalty = 1e4;

// ρ_atoms enters as asinh(ρ_atoms / s) for these scales (e/Å³): densities span decades, so each channel is linear below
// its scale and logarithmic above it, and together they resolve the whole range.
const std::vector<double> kAtomDensityScales = {1e-3, 1e-2, 1e-1, 1.0, 10.0};

// The columns' count: the atoms, the padding column, and zeros up to a multiple of 8 with the head dimension (flash
// attention's granularity).
int64_t extra_columns(int64_t atoms, int64_t head_dim, bool padding_column) {
  const int64_t e = atoms + (padding_column ? 1 : 0);
  return e + (8 - (head_dim + e) % 8) % 8;
}

// Key columns [B, 1, L, E] of sequences `tokens` [B, L] whose first `atoms` species tokens carry a bias; with
// padding_column, the padding penalty in column `atoms`.
torch::Tensor fused_key_columns(const torch::Tensor& tokens, int64_t atoms, int64_t E, bool padding_column) {
  const int64_t B = tokens.size(0), L = tokens.size(1);
  auto cols = torch::zeros({B, L, E}, torch::dtype(torch::kFloat32).device(tokens.device()));
  if (atoms > 0) cols.narrow(1, v3::kSpeciesIndex, atoms).narrow(2, 0, atoms).copy_(torch::eye(atoms, cols.options()));
  if (padding_column) cols.select(2, atoms).copy_((tokens == v3::PAD).to(torch::kFloat32) * -kPaddingPenalty);
  return cols.unsqueeze(1);
}

// Query columns [B, H, n, E]: rows `slots` [B, V] get bias [B, H, V, atoms] (when defined); with padding_column,
// a one in column `atoms` of every row.
torch::Tensor fused_query_columns(int64_t B, int64_t H, int64_t n, int64_t E, int64_t atoms, bool padding_column,
                                  const torch::Tensor& slots, const torch::Tensor& bias, const torch::TensorOptions& options) {
  auto cols = torch::zeros({B, H, n, E}, options);
  if (padding_column) cols.select(3, atoms).fill_(1.0);
  if (!bias.defined()) return cols;
  const int64_t V = slots.size(1);
  auto rows = torch::cat({bias.to(options.dtype()), cols.narrow(2, 0, 1).narrow(3, atoms, E - atoms).expand({B, H, V, E - atoms})}, -1);
  auto i64 = torch::dtype(torch::kInt64).device(slots.device());
  return cols.index_put({torch::arange(B, i64).view({B, 1, 1}), torch::arange(H, i64).view({1, H, 1}), slots.view({B, 1, V})}, rows);
}

// Attention of queries q [B, H, n, d] over keys k and values v [B, H, m, d], with extra query and key columns
// (undefined: none) appended, through scaled_dot_product_attention in the values' dtype (bf16 under autocast).
torch::Tensor fused_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              const torch::Tensor& query_extra, const torch::Tensor& key_extra, bool causal) {
  const auto dtype = v.scalar_type();
  const int64_t d = q.size(-1);
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  if (!query_extra.defined()) return scaled_dot_product_attention(q.to(dtype), k.to(dtype), v, causal, scale);
  const int64_t E = query_extra.size(-1);
  auto qq = torch::cat({(q * scale).to(dtype), query_extra.to(dtype)}, -1);
  auto kk = torch::cat({k.to(dtype), key_extra.expand({k.size(0), k.size(1), k.size(2), E}).to(dtype)}, -1);
  auto vv = torch::cat({v, torch::zeros({v.size(0), v.size(1), v.size(2), E}, v.options())}, -1);
  return scaled_dot_product_attention(qq, kk, vv, causal, 1.0).narrow(-1, 0, d);
}

}  // namespace

std::unique_ptr<AutocastScope> DensityTransformerImpl::autocast(const torch::Device& device) const {
  if (!exec_.bf16) return nullptr;
  return std::make_unique<AutocastScope>(device.type(), torch::kBFloat16);
}

// The order in which weights are created and initialised fixes the random stream under a seed: keep it.
DensityTransformerImpl::DensityTransformerImpl(const ModelConfig& c) : cfg_(c) {
  TORCH_CHECK(c.d_model % c.heads == 0 && c.heads % c.kv_heads == 0, "heads must divide d_model and be a multiple of kv_heads");
  const int d = c.d_model;
  embed = register_module("embed", torch::nn::Embedding(c.vocab, d));
  torch::nn::init::normal_(embed->weight, 0.0, 0.02);
  auto table = torch::zeros({c.vocab, kElementFeatures});
  for (int z = 1; z <= kMaxZ && v3::kAtomOffset + z - 1 < c.vocab; ++z) {
    const auto f = element_features(z);
    table[v3::kAtomOffset + z - 1] = torch::tensor(std::vector<float>(f.begin(), f.end()));
  }
  element_table = register_buffer("element_table", table);
  element_embedding = register_module("element_embedding", torch::nn::Linear(torch::nn::LinearOptions(kElementFeatures, d).bias(false)));
  torch::nn::init::normal_(element_embedding->weight, 0.0, 0.02);
  mask_embedding = register_parameter("mask_embedding", torch::randn({d}) * 0.02);
  axis_embedding = register_parameter("axis_embedding", torch::randn({3, c.patch, d}) * 0.02);
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int l = 0; l < c.layers; ++l) blocks->push_back(TransformerBlock(c));
  if (c.geometry_bias) {
    radial_filter = register_module("radial_filter", torch::nn::Linear(torch::nn::LinearOptions(c.radial_bins, c.message_dim).bias(false)));
    atom_species = register_module("atom_species", torch::nn::Linear(torch::nn::LinearOptions(d, c.message_dim).bias(false)));
    message_out = register_module("message_out", torch::nn::Linear(torch::nn::LinearOptions(c.message_dim, d).bias(false)));
    torch::nn::init::normal_(radial_filter->weight, 0.0, 1.0);
    torch::nn::init::normal_(message_out->weight, 0.0, 0.02);
    species_norm = register_parameter("species_norm", torch::ones({d}));
  }
  final_norm = register_parameter("final_norm", torch::ones({d}));
  head = register_module("head", torch::nn::Linear(d, c.density_bins));
  torch::nn::init::normal_(head->weight, 0.0, 0.02);
  torch::nn::init::zeros_(head->bias);
  if (c.atom_density_input) {
    atom_density = register_module("atom_density", torch::nn::Linear(torch::nn::LinearOptions(static_cast<int64_t>(kAtomDensityScales.size()), d).bias(false)));
    torch::nn::init::normal_(atom_density->weight, 0.0, 0.02);
  }
}

torch::Tensor DensityTransformerImpl::embed_tokens(const torch::Tensor& tokens) {
  return embed->forward(tokens) + element_embedding->forward(element_table.index({tokens}));
}

// What the atoms around a voxel, in every periodic image, say about its density. The density of a crystal is
// close to a sum of per-species radial shapes, which this sum can represent. An atom's species vector depends on
// its species token alone, so summing histograms per species first gives the same sum over atoms with a few
// species rows instead of N atom rows.
torch::Tensor DensityTransformerImpl::geometry_message(const torch::Tensor& x, const TokenGeometry& g) {
  const SpeciesHistogram h = species_radial_histogram(g, cfg_.radial_cutoff, cfg_.radial_bins);
  const int64_t B = x.size(0);
  auto rows = torch::arange(B, torch::dtype(torch::kInt64).device(x.device())).unsqueeze(1);
  auto species_tokens = x.index({rows, v3::kSpeciesIndex + h.first_atom});  // [B, S, d]
  auto species = atom_species->forward(rms_norm(species_tokens, species_norm)) * h.valid.unsqueeze(-1);
  // asinh: densities span decades and the codec's bins are log-spaced, while RMSNorm would keep only the
  // direction of a raw sum, so each channel enters on a log-like scale.
  auto message = (radial_filter->forward(h.histogram) * species.unsqueeze(1)).sum(2);
  return message_out->forward(torch::asinh(message));
}

DensityTransformerImpl::Inputs DensityTransformerImpl::prepare(const torch::Tensor& sequence, const torch::Tensor& sequence_dens_start,
                                                               const torch::Tensor& hidden, const torch::Tensor& atoms) {
  TORCH_CHECK(atoms.defined() == cfg_.atom_density_input,
              cfg_.atom_density_input ? "this model predicts residuals over ρ_atoms and needs them as input" : "this model takes no ρ_atoms");
  const auto dev = sequence.device();
  Inputs in;
  // With geometry the position tokens are read once, into distances and histograms. The stack then runs
  // without them: they are 9 of every atom's 10 tokens, and base-256 digits of log-scaled coordinates say
  // little to attention that the geometry does not say better.
  TokenGeometry g;
  if (cfg_.geometry_bias) g = decode_geometry(sequence, sequence_dens_start, cfg_.patch);
  if (cfg_.geometry_bias && !cfg_.attend_positions)
    std::tie(in.tokens, in.dens_start) = drop_position_tokens(sequence, sequence_dens_start);
  else
    in.tokens = sequence, in.dens_start = sequence_dens_start;
  const auto& tokens = in.tokens;
  const auto& dens_start = in.dens_start;
  const int64_t B = tokens.size(0), L = tokens.size(1), P = cfg_.patch, V = P * P * P, dh = cfg_.d_model / cfg_.heads;
  auto i64 = torch::dtype(torch::kInt64).device(dev);
  in.batch_idx = torch::arange(B, i64).unsqueeze(1).expand({B, V});
  in.slots = dens_start.unsqueeze(1) + 1 + torch::arange(V, i64).unsqueeze(0);  // [B, V]

  // Token embeddings; hidden density slots get the mask embedding; every density slot gets its
  // (a, b, c) offset in the patch as the sum of three learned per-axis embeddings.
  in.x = embed_tokens(tokens);
  if (!cfg_.causal && hidden.defined()) {
    auto hide = torch::zeros({B, L}, torch::dtype(torch::kBool).device(dev)).index_put({in.batch_idx, in.slots}, hidden);
    in.x = torch::where(hide.unsqueeze(-1), mask_embedding.expand_as(in.x), in.x);
  }
  auto v_idx = torch::arange(V, i64);
  in.slot_input = (axis_embedding[0].index({v_idx.div(P * P, "floor")}) +
                   axis_embedding[1].index({v_idx.div(P, "floor").remainder(P)}) + axis_embedding[2].index({v_idx.remainder(P)}))
                      .unsqueeze(0)
                      .expand({B, V, cfg_.d_model});

  auto inv_freq = torch::pow(10000.0, -torch::arange(0, dh, 2, torch::dtype(torch::kFloat32).device(dev)) / dh);
  auto angles = torch::outer(torch::arange(L, torch::dtype(torch::kFloat32).device(dev)), inv_freq);
  in.cos = angles.cos().view({1, 1, L, dh / 2}), in.sin = angles.sin().view({1, 1, L, dh / 2});

  // Geometry: the message into every density slot, and its distance to every atom on radial basis functions.
  if (cfg_.geometry_bias) {
    in.distance = g.distance;
    in.atom_valid = g.atom_valid;
    in.slot_input = in.slot_input + geometry_message(in.x, g);
    auto centres = torch::linspace(0.0, cfg_.rbf_cutoff, cfg_.rbf, torch::dtype(torch::kFloat32).device(dev));
    const double width = cfg_.rbf_cutoff / cfg_.rbf;
    in.rbf = torch::exp(-((in.distance.unsqueeze(-1) - centres) / width).pow(2));  // [B, V, N, K]
  }
  if (cfg_.atom_density_input) {
    auto scales = torch::tensor(std::vector<float>(kAtomDensityScales.begin(), kAtomDensityScales.end()), torch::dtype(torch::kFloat32).device(dev));
    in.slot_input = in.slot_input + atom_density->forward(torch::asinh(atoms.to(torch::kFloat32).unsqueeze(-1) / scales));
  }
  in.x = in.x.index_put({in.batch_idx, in.slots}, in.x.index({in.batch_idx, in.slots}) + in.slot_input);
  return in;
}

torch::Tensor DensityTransformerImpl::logits(const torch::Tensor& hidden) {
  return head->forward(rms_norm(hidden, final_norm)) * kLogitScale;
}

torch::Tensor DensityTransformerImpl::forward(const torch::Tensor& sequence, const torch::Tensor& dens_start,
                                              const torch::Tensor& hidden, const torch::Tensor& atoms) {
  const auto reduced_precision = autocast(sequence.device());
  Inputs in = prepare(sequence, dens_start, hidden, atoms);
  const auto& tokens = in.tokens;
  const auto dev = tokens.device();
  const int64_t B = tokens.size(0), L = tokens.size(1), V = static_cast<int64_t>(std::pow(cfg_.patch, 3)), H = cfg_.heads;
  const int64_t N = cfg_.geometry_bias ? in.distance.size(2) : 0;
  auto i64 = torch::dtype(torch::kInt64).device(dev);
  auto bias = [&](size_t l) { return cfg_.geometry_bias ? block(l).slot_bias(in.rbf, in.distance, in.atom_valid) : torch::Tensor(); };

  auto x = in.x;
  if (exec_.fused_attention) {
    const int64_t E = extra_columns(N, cfg_.d_model / H, /*padding_column=*/true);
    const auto key_extra = fused_key_columns(tokens, N, E, true);
    for (size_t l = 0; l < blocks->size(); ++l) {
      auto [q, k, v] = block(l).attention_inputs(x, in.cos, in.sin);
      auto query_extra = fused_query_columns(B, H, L, E, N, true, in.slots, bias(l), torch::dtype(torch::kFloat32).device(dev));
      x = block(l).finish(x, fused_attention(q, k, v, query_extra, key_extra, cfg_.causal));
    }
  } else {
    // The additive mask: padding keys; future keys for the causal objective.
    auto neg_inf = -std::numeric_limits<float>::infinity();
    auto mask = torch::zeros({B, 1, 1, L}, torch::dtype(torch::kFloat32).device(dev))
                    .masked_fill((tokens == v3::PAD).view({B, 1, 1, L}), neg_inf);
    if (cfg_.causal)
      mask = mask + torch::full({L, L}, neg_inf, torch::dtype(torch::kFloat32).device(dev)).triu(1).view({1, 1, L, L});
    // Where each (head, slot, atom) bias lands in the flattened [B, H, L, L] scores: row = the density slot,
    // column = the atom's species token. Only these B·H·P³·N entries are touched, never a full L×L plane.
    torch::Tensor bias_index;
    if (cfg_.geometry_bias) {
      auto cols = v3::kSpeciesIndex + torch::arange(N, i64);
      auto rows = (torch::arange(B, i64).view({B, 1, 1, 1}) * H + torch::arange(H, i64).view({1, H, 1, 1})) * L +
                  in.slots.view({B, 1, V, 1});
      bias_index = (rows * L + cols.view({1, 1, 1, N})).reshape(-1);
    }
    for (size_t l = 0; l < blocks->size(); ++l) {
      auto [q, k, v] = block(l).attention_inputs(x, in.cos, in.sin);
      auto scores = attention_scores(q, k).add_(mask);
      if (cfg_.geometry_bias)
        scores.view({-1}).index_put_({bias_index}, bias(l).reshape({-1}).to(scores.scalar_type()), /*accumulate=*/true);
      x = block(l).finish(x, torch::matmul(torch::softmax(scores, -1), v));
    }
  }
  auto read = cfg_.causal ? in.slots - 1 : in.slots;
  return logits(x.index({in.batch_idx, read})).to(torch::kFloat32);
}

torch::Tensor DensityTransformerImpl::start_decoding(const torch::Tensor& tokens, int64_t dens_start, DecodeCache& cache,
                                                     const torch::Tensor& atoms) {
  TORCH_CHECK(cfg_.causal, "free-running decoding is for causal models");
  const auto reduced_precision = autocast(tokens.device());
  const int64_t B = tokens.size(0);
  Inputs in = prepare(tokens, torch::full({B}, dens_start, torch::dtype(torch::kInt64).device(tokens.device())), {}, atoms);
  cache = DecodeCache{};
  cache.slot_input = in.slot_input, cache.cos = in.cos, cache.sin = in.sin, cache.dens_start = in.dens_start[0].item<int64_t>();
  const int64_t n = cache.dens_start + 1;  // the prefix: everything up to DENS_START
  auto neg_inf = -std::numeric_limits<float>::infinity();
  auto causal = torch::full({n, n}, neg_inf, in.x.options()).triu(1).view({1, 1, n, n});
  // The keys' atom columns are the same at every step: made once for every position, each step reads a prefix.
  if (exec_.fused_attention && cfg_.geometry_bias) {
    const int64_t N = in.distance.size(2);
    cache.key_extra = fused_key_columns(in.tokens, N, extra_columns(N, cfg_.d_model / cfg_.heads, /*padding_column=*/false), false);
  }
  auto x = in.x.narrow(1, 0, n);
  for (size_t l = 0; l < blocks->size(); ++l) {
    auto [q, k, v] = block(l).attention_inputs(x, in.cos.narrow(2, 0, n), in.sin.narrow(2, 0, n));
    cache.keys.push_back(k), cache.values.push_back(v);
    if (cfg_.geometry_bias) cache.slot_bias.push_back(block(l).slot_bias(in.rbf, in.distance, in.atom_valid));
    // The prefix holds no density slot, so no geometry bias, and no padding: one decoded batch has one length.
    x = block(l).finish(x, exec_.fused_attention ? fused_attention(q, k, v, {}, {}, /*causal=*/true)
                                                 : torch::matmul(torch::softmax(attention_scores(q, k) + causal, -1), v));
  }
  return logits(x.select(1, n - 1)).to(torch::kFloat32);
}

torch::Tensor DensityTransformerImpl::decode_next(const torch::Tensor& token, DecodeCache& cache) {
  const auto reduced_precision = autocast(token.device());
  const int64_t t = cache.next_slot++, pos = cache.dens_start + 1 + t;
  TORCH_CHECK(t + 1 < cache.slot_input.size(1), "decode_next: every density slot is already decoded");
  auto x = (embed_tokens(token) + cache.slot_input.select(1, t)).unsqueeze(1);  // [B, 1, d]
  const int64_t B = x.size(0), H = cfg_.heads, N = cfg_.geometry_bias ? cache.slot_bias[0].size(3) : 0;
  const torch::Tensor key_extra = cache.key_extra.defined() ? cache.key_extra.narrow(2, 0, pos + 1) : torch::Tensor();
  for (size_t l = 0; l < blocks->size(); ++l) {
    auto [q, k, v] = block(l).attention_inputs(x, cache.cos.narrow(2, pos, 1), cache.sin.narrow(2, pos, 1));
    cache.keys[l] = torch::cat({cache.keys[l], k}, 2);
    cache.values[l] = torch::cat({cache.values[l], v}, 2);
    // The one query is the newest position: every cached key is in its past.
    if (exec_.fused_attention) {
      torch::Tensor query_extra;
      if (key_extra.defined()) {
        query_extra = torch::zeros({B, H, 1, key_extra.size(3)}, torch::dtype(torch::kFloat32).device(x.device()));
        query_extra.narrow(3, 0, N).copy_(cache.slot_bias[l].select(2, t).unsqueeze(2));
      }
      x = block(l).finish(x, fused_attention(q, cache.keys[l], cache.values[l], query_extra, key_extra, /*causal=*/false));
      continue;
    }
    auto scores = attention_scores(q, cache.keys[l]);  // [B, H, 1, pos + 1]
    if (cfg_.geometry_bias)
      scores.narrow(-1, v3::kSpeciesIndex, N).add_(cache.slot_bias[l].select(2, t).unsqueeze(2).to(scores.scalar_type()));
    x = block(l).finish(x, torch::matmul(torch::softmax(scores, -1), cache.values[l]));
  }
  return logits(x.select(1, 0)).to(torch::kFloat32);
}

double DensityTransformerImpl::forward_flops(int64_t length) const {
  const double d = cfg_.d_model, dh = d / cfg_.heads, V = std::pow(cfg_.patch, 3);
  const double atoms = std::max(0.0, (static_cast<double>(length) - v3::kFrameTokens - V) / v3::kTokensPerAtom);
  const double L = static_cast<double>(length) - (cfg_.geometry_bias && !cfg_.attend_positions ? v3::kPositionTokensPerAtom * atoms : 0);
  const double proj = L * d * (2 * cfg_.heads * dh + 2 * cfg_.kv_heads * dh);
  const double attention = 2 * L * L * cfg_.heads * dh;
  const double mlp = 3 * L * d * cfg_.ffn;
  const double out = V * d * cfg_.density_bins;
  return 2 * (cfg_.layers * (proj + attention + mlp) + out);
}

}  // namespace rhotrain
