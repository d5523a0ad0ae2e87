#include "models/density_transformer.h"

#include <Eigen/Dense>
#include <cmath>

#include "materials/elements.h"
#include "sampler/v3_tokenizer.h"

namespace rhotrain {
namespace {

using torch::indexing::Slice;

// The output logits are scaled up: AdamW moves each head weight by about lr per step, so a unit-scale head
// needs hundreds of steps before its distributions over 256 bins can be sharp (measured: 300 steps of
// the one-layer tiny model reached 22.8 % NMAE with the scale, 25.9 % without).
constexpr double kLogitScale = 8.0;

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight) {
  return x * torch::rsqrt(x.pow(2).mean(-1, true) + 1e-6) * weight;
}

// Rotary embedding on the last dimension (split halves), positions 0..L-1.
torch::Tensor rotary(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  auto x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
  return torch::cat({x1 * cos - x2 * sin, x1 * sin + x2 * cos}, -1);
}

// Scaled on q: the same product as dividing the scores, without a pass over [B, heads, L, L].
torch::Tensor attention_scores(const torch::Tensor& q, const torch::Tensor& k) {
  return torch::matmul(q * (1.0 / std::sqrt(static_cast<double>(q.size(-1)))), k.transpose(-2, -1));
}

// Lattice [B,3,3] (rows a, b, c in a standard orientation) from the six integer lattice tokens.
torch::Tensor lattice_from_tokens(const torch::Tensor& tokens) {
  auto ints = (tokens.index({Slice(), Slice(7, 13)}) - v3::kIntOffset).to(torch::kFloat64);
  auto len = ints.index({Slice(), Slice(0, 3)}) * v3::kLatticeStep;
  auto ang = ints.index({Slice(), Slice(3, 6)}) * (v3::kAngleStep * M_PI / 180.0);
  auto a = len.select(1, 0), b = len.select(1, 1), c = len.select(1, 2);
  auto ca = torch::cos(ang.select(1, 0)), cb = torch::cos(ang.select(1, 1)), cg = torch::cos(ang.select(1, 2));
  auto sg = torch::sin(ang.select(1, 2)).clamp_min(1e-6);
  auto zero = torch::zeros_like(a);
  auto cx = c * cb, cy = c * (ca - cb * cg) / sg;
  auto cz = torch::sqrt((c * c - cx * cx - cy * cy).clamp_min(1e-9));
  return torch::stack({torch::stack({a, zero, zero}, 1), torch::stack({b * cg, b * sg, zero}, 1),
                       torch::stack({cx, cy, cz}, 1)},
                      1);
}

// Atoms of each sequence [B] from its DENS_START, which the v3 layout puts at 10N + 18.
torch::Tensor atom_counts(const torch::Tensor& dens_start) { return (dens_start - 18).div(10, "floor"); }

// The sequence without its 9N position-byte tokens (indices 17+N … 16+10N), PAD-filled, and DENS_START
// moved from 10N+18 to N+18. Everything else keeps its place. The batch's most-atom sequence fits in
// L − 9·N and every other one in less, so that is the new length.
std::pair<torch::Tensor, torch::Tensor> drop_position_tokens(const torch::Tensor& tokens, const torch::Tensor& dens_start) {
  const int64_t L = tokens.size(1);
  auto n_atoms = atom_counts(dens_start).unsqueeze(1);  // [B, 1]
  const int64_t length = L - 9 * n_atoms.max().item<int64_t>();
  auto j = torch::arange(length, dens_start.options()).unsqueeze(0);
  auto source = torch::where(j < 17 + n_atoms, j, j + 9 * n_atoms);
  auto kept = torch::where(source < L, tokens.gather(1, source.clamp_max(L - 1)), torch::full_like(source, v3::PAD));
  return {kept, dens_start - 9 * n_atoms.squeeze(1)};
}

}  // namespace

TokenGeometry decode_geometry(const torch::Tensor& tokens, const torch::Tensor& dens_start, int patch) {
  torch::NoGradGuard no_grad;
  const auto dev = tokens.device();
  const int64_t B = tokens.size(0), L = tokens.size(1);
  auto n_atoms = atom_counts(dens_start);
  const int64_t n_max = std::max<int64_t>(1, n_atoms.max().item<int64_t>());
  auto a = torch::arange(n_max, torch::dtype(torch::kInt64).device(dev));
  auto atom_valid = a.unsqueeze(0) < n_atoms.unsqueeze(1);  // [B, Nmax]

  // Position tokens of atom a, coordinate d, byte t sit at 17 + N + 9a + 3d + t.
  auto offs = torch::arange(9, torch::dtype(torch::kInt64).device(dev));
  auto idx = (17 + n_atoms).view({B, 1, 1}) + 9 * a.view({1, n_max, 1}) + offs.view({1, 1, 9});
  idx = torch::where(atom_valid.unsqueeze(2), idx, torch::zeros_like(idx)).clamp_max(L - 1);
  auto pos = tokens.gather(1, idx.view({B, n_max * 9})).view({B, n_max, 3, 3});
  auto hi = pos.select(3, 0) - v3::kPosOffset[0];
  auto negative = hi >= 256;
  hi = torch::where(negative, hi - 256, hi);
  auto bin = (hi * 65536 + (pos.select(3, 1) - v3::kPosOffset[1]) * 256 + (pos.select(3, 2) - v3::kPosOffset[2]))
                 .to(torch::kFloat64);
  auto frac = torch::pow(10.0, bin / static_cast<double>(v3::kPosMaxBin) * -v3::kPosMinLog10 + v3::kPosMinLog10);
  frac = torch::where(bin == 0, torch::zeros_like(frac), frac);
  frac = torch::where(negative, -frac, frac);  // [B, Nmax, 3], relative to the patch origin

  // Voxel (i,j,k) of the patch sits at (i/nx, j/ny, k/nz) relative to the origin.
  auto grid = (tokens.index({Slice(), Slice(2, 5)}) - v3::kIntOffset).to(torch::kFloat64);  // [B, 3]
  auto r = torch::arange(patch, torch::dtype(torch::kFloat64).device(dev));
  auto mesh = torch::meshgrid({r, r, r}, "ij");
  auto offsets = torch::stack({mesh[0].reshape(-1), mesh[1].reshape(-1), mesh[2].reshape(-1)}, 1);  // [P³, 3]
  auto voxel = offsets.unsqueeze(0) / grid.unsqueeze(1);                                             // [B, P³, 3]
  auto delta = voxel.unsqueeze(2) - frac.unsqueeze(1);                                               // [B, P³, N, 3]
  delta = delta - torch::round(delta);
  TokenGeometry g;
  g.lattice = lattice_from_tokens(tokens);
  g.offset = torch::matmul(delta, g.lattice.unsqueeze(1));  // rows: Δf · L
  g.distance = g.offset.pow(2).sum(-1).sqrt().to(torch::kFloat32);  // norm() over a last axis of 3 is ~10× slower
  g.atom_valid = atom_valid;
  auto species_pos = (15 + a).unsqueeze(0).expand({B, n_max}).clamp_max(L - 1);
  g.species = torch::where(atom_valid, tokens.gather(1, species_pos), torch::full_like(species_pos, -1));
  return g;
}

SpeciesHistogram species_radial_histogram(const TokenGeometry& g, double cutoff, int bins) {
  torch::NoGradGuard no_grad;
  const int64_t B = g.offset.size(0), V = g.offset.size(1), N = g.offset.size(2);
  // One fused loop on the CPU: as tensor ops over atoms this was ~12 passes over [B, P³, N] per periodic
  // image and 42 % of a tiny-model forward pass on a 28-atom cell (bench/model_bench).
  const auto offset = g.offset.to(torch::kCPU, torch::kFloat64).contiguous();
  const auto lattice = g.lattice.to(torch::kCPU, torch::kFloat64).contiguous();
  const auto species = g.species.to(torch::kCPU, torch::kInt64).contiguous();
  const double* off = offset.data_ptr<double>();
  const int64_t* z = species.data_ptr<int64_t>();

  // Per crystal: each atom's species group (groups in order of first appearance), and the lattice shifts
  // that can bring an image inside the cutoff. The minimum image lies within half a cell along each axis,
  // so images up to cutoff/h + ½ cells away can be inside, h being the cell's height across that axis;
  // and |o + s| ≥ |s| − |o| discards shifts longer than the cutoff plus the longest minimum-image offset.
  std::vector<std::vector<int64_t>> group(static_cast<size_t>(B), std::vector<int64_t>(static_cast<size_t>(N), -1));
  std::vector<std::vector<int64_t>> first_atom(static_cast<size_t>(B));
  std::vector<std::vector<Eigen::Vector3d>> shifts(static_cast<size_t>(B));
  int64_t groups = 1;
  for (int64_t b = 0; b < B; ++b) {
    auto& firsts = first_atom[static_cast<size_t>(b)];
    for (int64_t n = 0; n < N && z[b * N + n] >= 0; ++n) {
      size_t k = 0;
      while (k < firsts.size() && z[b * N + firsts[k]] != z[b * N + n]) ++k;
      if (k == firsts.size()) firsts.push_back(n);
      group[static_cast<size_t>(b)][static_cast<size_t>(n)] = static_cast<int64_t>(k);
    }
    groups = std::max<int64_t>(groups, static_cast<int64_t>(firsts.size()));

    const Eigen::Matrix3d L = Eigen::Map<const Eigen::Matrix<double, 3, 3, Eigen::RowMajor>>(lattice.data_ptr<double>() + 9 * b);
    const double volume = std::abs(L.row(0).dot(L.row(1).cross(L.row(2))));
    int reach[3];
    for (int d = 0; d < 3; ++d)
      reach[d] = static_cast<int>(std::floor(cutoff * L.row((d + 1) % 3).cross(L.row((d + 2) % 3)).norm() / volume + 0.5));
    double longest = 0;
    for (int64_t vn = 0; vn < V * N; ++vn)
      if (z[b * N + vn % N] >= 0) longest = std::max(longest, Eigen::Map<const Eigen::Vector3d>(off + 3 * (b * V * N + vn)).norm());
    for (int i = -reach[0]; i <= reach[0]; ++i)
      for (int j = -reach[1]; j <= reach[1]; ++j)
        for (int k = -reach[2]; k <= reach[2]; ++k) {
          const Eigen::Vector3d s = (i * L.row(0) + j * L.row(1) + k * L.row(2)).transpose();
          if (s.norm() < cutoff + longest) shifts[static_cast<size_t>(b)].push_back(s);
        }
  }

  SpeciesHistogram h;
  h.histogram = torch::zeros({B, V, groups, bins}, torch::kFloat32);
  h.first_atom = torch::zeros({B, groups}, torch::kInt64);
  h.valid = torch::zeros({B, groups}, torch::kBool);
  auto first = h.first_atom.accessor<int64_t, 2>();
  auto valid = h.valid.accessor<bool, 2>();
  for (int64_t b = 0; b < B; ++b)
    for (size_t k = 0; k < first_atom[static_cast<size_t>(b)].size(); ++k) {
      first[b][static_cast<int64_t>(k)] = first_atom[static_cast<size_t>(b)][k];
      valid[b][static_cast<int64_t>(k)] = true;
    }
  float* out = h.histogram.data_ptr<float>();
  const double step = cutoff / bins, cutoff2 = cutoff * cutoff;
  at::parallel_for(0, B * V, 16, [&](int64_t begin, int64_t end) {
    for (int64_t bv = begin; bv < end; ++bv) {
      const int64_t b = bv / V;
      for (int64_t n = 0; n < N; ++n) {
        const int64_t k = group[static_cast<size_t>(b)][static_cast<size_t>(n)];
        if (k < 0) continue;
        const double* o = off + 3 * (bv * N + n);
        float* hist = out + (bv * groups + k) * bins;
        for (const auto& s : shifts[static_cast<size_t>(b)]) {
          const double x = o[0] + s[0], y = o[1] + s[1], w = o[2] + s[2], r2 = x * x + y * y + w * w;
          if (r2 >= cutoff2) continue;
          const double pos = std::sqrt(r2) / step;
          const int lower = std::min(static_cast<int>(pos), bins - 1);
          const double frac = pos - lower;
          hist[lower] += static_cast<float>(1 - frac);
          if (lower + 1 < bins) hist[lower + 1] += static_cast<float>(frac);
        }
      }
    }
  });
  const auto dev = g.offset.device();
  h.histogram = h.histogram.to(dev), h.first_atom = h.first_atom.to(dev), h.valid = h.valid.to(dev);
  return h;
}

DensityTransformerImpl::DensityTransformerImpl(const ModelConfig& c) : cfg_(c) {
  TORCH_CHECK(c.d_model % c.heads == 0 && c.heads % c.kv_heads == 0, "heads must divide d_model and be a multiple of kv_heads");
  const int d = c.d_model, dh = c.d_model / c.heads;
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
  for (int l = 0; l < c.layers; ++l) {
    Layer L;
    const std::string p = "layer" + std::to_string(l) + "_";
    auto linear = [&](const std::string& name, int in, int out) {
      auto m = register_module(p + name, torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false)));
      torch::nn::init::normal_(m->weight, 0.0, 0.02);
      return m;
    };
    L.q = linear("q", d, c.heads * dh);
    L.k = linear("k", d, c.kv_heads * dh);
    L.v = linear("v", d, c.kv_heads * dh);
    L.o = linear("o", c.heads * dh, d);
    L.gate = linear("gate", d, c.ffn);
    L.up = linear("up", d, c.ffn);
    L.down = linear("down", c.ffn, d);
    // Residual-branch outputs start small so the stack starts close to the identity.
    torch::NoGradGuard g;
    L.o->weight.mul_(1.0 / std::sqrt(2.0 * c.layers));
    L.down->weight.mul_(1.0 / std::sqrt(2.0 * c.layers));
    L.norm1 = register_parameter(p + "norm1", torch::ones({d}));
    L.norm2 = register_parameter(p + "norm2", torch::ones({d}));
    L.q_norm = register_parameter(p + "q_norm", torch::ones({dh}));
    L.k_norm = register_parameter(p + "k_norm", torch::ones({dh}));
    if (c.geometry_bias) {
      // Each head starts with a bias that falls with distance, γ_h·(2 Å − r), γ_h = 1…4: a zero start
      // leaves the ~P³ density keys swamping the atom keys and nothing is learned (see PITFALLS).
      L.rbf_to_heads = register_module(p + "rbf_to_heads", torch::nn::Linear(torch::nn::LinearOptions(c.rbf, c.heads).bias(false)));
      torch::nn::init::zeros_(L.rbf_to_heads->weight);
      L.distance_slope = register_parameter(p + "distance_slope", torch::linspace(1.0, 4.0, c.heads));
    }
    layers_.push_back(L);
  }
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
}

torch::Tensor DensityTransformerImpl::embed_tokens(const torch::Tensor& tokens) {
  return embed->forward(tokens) + element_embedding->forward(element_table.index({tokens}));
}

DensityTransformerImpl::Inputs DensityTransformerImpl::prepare(const torch::Tensor& sequence, const torch::Tensor& sequence_dens_start,
                                                               const torch::Tensor& hidden) {
  const auto dev = sequence.device();
  Inputs in;
  // With geometry the position tokens are read once, into distances and histograms. The stack then runs
  // without them: they are 9 of every atom's 10 tokens (for 28 atoms, 252 of a 514-token sequence), and
  // base-256 digits of log-scaled coordinates say little to attention that the geometry does not say better.
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

  // Geometry: distances from every density slot to every atom, expanded on radial basis functions.
  if (cfg_.geometry_bias) {
    in.distance = g.distance;
    in.atom_valid = g.atom_valid;
    // The message: what the atoms around a voxel, in every periodic image, say about its density. The
    // density of a crystal is close to a sum of per-species radial shapes, which this sum can represent.
    // An atom's species vector depends on its species token alone, so summing histograms per species
    // first gives the same sum over atoms with a few species rows instead of N atom rows.
    const SpeciesHistogram h = species_radial_histogram(g, cfg_.radial_cutoff, cfg_.radial_bins);
    auto species_tokens = in.x.index({torch::arange(B, i64).unsqueeze(1), 15 + h.first_atom});  // [B, S, d]
    auto species = atom_species->forward(rms_norm(species_tokens, species_norm)) * h.valid.unsqueeze(-1);
    // asinh: densities span decades and the codec's bins are log-spaced, while RMSNorm would keep only the
    // direction of a raw sum, so each channel enters on a log-like scale.
    auto message = (radial_filter->forward(h.histogram) * species.unsqueeze(1)).sum(2);
    in.slot_input = in.slot_input + message_out->forward(torch::asinh(message));
    auto centres = torch::linspace(0.0, cfg_.rbf_cutoff, cfg_.rbf, torch::dtype(torch::kFloat32).device(dev));
    const double width = cfg_.rbf_cutoff / cfg_.rbf;
    in.rbf = torch::exp(-((in.distance.unsqueeze(-1) - centres) / width).pow(2));  // [B, V, N, K]
  }
  in.x = in.x.index_put({in.batch_idx, in.slots}, in.x.index({in.batch_idx, in.slots}) + in.slot_input);
  return in;
}

torch::Tensor DensityTransformerImpl::slot_bias(Layer& layer, const Inputs& in) {
  auto bias = layer.rbf_to_heads->forward(in.rbf) + layer.distance_slope * (2.0 - in.distance.unsqueeze(-1));  // [B,V,N,H]
  return (bias * in.atom_valid.view({in.atom_valid.size(0), 1, -1, 1})).permute({0, 3, 1, 2});                // [B,H,V,N]
}

std::array<torch::Tensor, 3> DensityTransformerImpl::project(Layer& layer, const torch::Tensor& x,
                                                             const torch::Tensor& cos, const torch::Tensor& sin) {
  const int64_t B = x.size(0), n = x.size(1), H = cfg_.heads, KV = cfg_.kv_heads, dh = cfg_.d_model / cfg_.heads;
  auto h = rms_norm(x, layer.norm1);
  auto q = rotary(rms_norm(layer.q->forward(h).view({B, n, H, dh}), layer.q_norm).transpose(1, 2), cos, sin);
  auto k = rotary(rms_norm(layer.k->forward(h).view({B, n, KV, dh}), layer.k_norm).transpose(1, 2), cos, sin);
  auto v = layer.v->forward(h).view({B, n, KV, dh}).transpose(1, 2);
  if (KV != H) {
    k = k.repeat_interleave(H / KV, 1);
    v = v.repeat_interleave(H / KV, 1);
  }
  return {q, k, v};
}

torch::Tensor DensityTransformerImpl::finish_block(Layer& layer, const torch::Tensor& x, const torch::Tensor& scores,
                                                   const torch::Tensor& v) {
  auto attn = torch::matmul(torch::softmax(scores, -1), v).transpose(1, 2).reshape({x.size(0), x.size(1), cfg_.d_model});
  auto y = x + layer.o->forward(attn);
  auto m = rms_norm(y, layer.norm2);
  return y + layer.down->forward(torch::silu(layer.gate->forward(m)) * layer.up->forward(m));
}

torch::Tensor DensityTransformerImpl::logits(const torch::Tensor& hidden) {
  return head->forward(rms_norm(hidden, final_norm)) * kLogitScale;
}

torch::Tensor DensityTransformerImpl::forward(const torch::Tensor& sequence, const torch::Tensor& dens_start,
                                              const torch::Tensor& hidden) {
  Inputs in = prepare(sequence, dens_start, hidden);
  const auto& tokens = in.tokens;
  const auto dev = tokens.device();
  const int64_t B = tokens.size(0), L = tokens.size(1), V = static_cast<int64_t>(std::pow(cfg_.patch, 3)), H = cfg_.heads;
  auto i64 = torch::dtype(torch::kInt64).device(dev);

  // The additive mask: padding keys; future keys for the causal objective.
  auto neg_inf = -std::numeric_limits<float>::infinity();
  auto mask = torch::zeros({B, 1, 1, L}, torch::dtype(torch::kFloat32).device(dev))
                  .masked_fill((tokens == v3::PAD).view({B, 1, 1, L}), neg_inf);
  if (cfg_.causal)
    mask = mask + torch::full({L, L}, neg_inf, torch::dtype(torch::kFloat32).device(dev)).triu(1).view({1, 1, L, L});
  // Where each (head, slot, atom) bias lands in the flattened [B, H, L, L] scores: row = the density slot,
  // column = the atom's token 15 + a. Only these B·H·P³·N entries are touched, never a full L×L plane.
  torch::Tensor bias_index;
  if (cfg_.geometry_bias) {
    const int64_t N = in.distance.size(2);
    auto cols = 15 + torch::arange(N, i64);
    auto rows = (torch::arange(B, i64).view({B, 1, 1, 1}) * H + torch::arange(H, i64).view({1, H, 1, 1})) * L +
                in.slots.view({B, 1, V, 1});
    bias_index = (rows * L + cols.view({1, 1, 1, N})).reshape(-1);
  }

  auto x = in.x;
  for (auto& layer : layers_) {
    auto [q, k, v] = project(layer, x, in.cos, in.sin);
    auto scores = attention_scores(q, k).add_(mask);
    if (cfg_.geometry_bias) scores.view({-1}).index_put_({bias_index}, slot_bias(layer, in).reshape({-1}), /*accumulate=*/true);
    x = finish_block(layer, x, scores, v);
  }
  auto read = cfg_.causal ? in.slots - 1 : in.slots;
  return logits(x.index({in.batch_idx, read}));
}

torch::Tensor DensityTransformerImpl::start_decoding(const torch::Tensor& tokens, int64_t dens_start, DecodeCache& cache) {
  TORCH_CHECK(cfg_.causal, "free-running decoding is for causal models");
  const int64_t B = tokens.size(0);
  Inputs in = prepare(tokens, torch::full({B}, dens_start, torch::dtype(torch::kInt64).device(tokens.device())), {});
  cache = DecodeCache{};
  cache.slot_input = in.slot_input, cache.cos = in.cos, cache.sin = in.sin, cache.dens_start = in.dens_start[0].item<int64_t>();
  const int64_t n = cache.dens_start + 1;  // the prefix: everything up to DENS_START
  auto neg_inf = -std::numeric_limits<float>::infinity();
  auto causal = torch::full({n, n}, neg_inf, in.x.options()).triu(1).view({1, 1, n, n});
  auto x = in.x.narrow(1, 0, n);
  for (auto& layer : layers_) {
    auto [q, k, v] = project(layer, x, in.cos.narrow(2, 0, n), in.sin.narrow(2, 0, n));
    cache.keys.push_back(k), cache.values.push_back(v);
    if (cfg_.geometry_bias) cache.slot_bias.push_back(slot_bias(layer, in));
    x = finish_block(layer, x, attention_scores(q, k) + causal, v);
  }
  return logits(x.select(1, n - 1));
}

torch::Tensor DensityTransformerImpl::decode_next(const torch::Tensor& token, DecodeCache& cache) {
  const int64_t t = cache.next_slot++, pos = cache.dens_start + 1 + t;
  TORCH_CHECK(t + 1 < cache.slot_input.size(1), "decode_next: every density slot is already decoded");
  auto x = (embed_tokens(token) + cache.slot_input.select(1, t)).unsqueeze(1);  // [B, 1, d]
  for (size_t l = 0; l < layers_.size(); ++l) {
    auto [q, k, v] = project(layers_[l], x, cache.cos.narrow(2, pos, 1), cache.sin.narrow(2, pos, 1));
    cache.keys[l] = torch::cat({cache.keys[l], k}, 2);
    cache.values[l] = torch::cat({cache.values[l], v}, 2);
    auto scores = attention_scores(q, cache.keys[l]);  // [B, H, 1, pos + 1]
    if (cfg_.geometry_bias) {
      const int64_t N = cache.slot_bias[l].size(3);
      scores.narrow(-1, 15, N).add_(cache.slot_bias[l].select(2, t).unsqueeze(2));
    }
    x = finish_block(layers_[l], x, scores, cache.values[l]);
  }
  return logits(x.select(1, 0));
}

double DensityTransformerImpl::forward_flops(int64_t length) const {
  const double d = cfg_.d_model, dh = d / cfg_.heads, V = std::pow(cfg_.patch, 3);
  const double atoms = std::max(0.0, (static_cast<double>(length) - 21 - V) / 10);  // length = 10N + 21 + P³
  const double L = static_cast<double>(length) - (cfg_.geometry_bias && !cfg_.attend_positions ? 9 * atoms : 0);
  const double proj = L * d * (2 * cfg_.heads * dh + 2 * cfg_.kv_heads * dh);
  const double attention = 2 * L * L * cfg_.heads * dh;
  const double mlp = 3 * L * d * cfg_.ffn;
  const double out = V * d * cfg_.density_bins;
  return 2 * (cfg_.layers * (proj + attention + mlp) + out);
}

}  // namespace rhotrain
