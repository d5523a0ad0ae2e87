#include "models/geometry.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <vector>

#include "sampler/v3_layout.h"

namespace rhotrain {
namespace {

// Lattice [B,3,3] (rows a, b, c in a standard orientation) from the six integer lattice tokens.
at::Tensor lattice_from_tokens(const at::Tensor& tokens) {
  auto ints = (tokens.narrow(1, v3::kLatticeIndex, 6) - v3::kIntOffset).to(at::kDouble);
  auto len = ints.narrow(1, 0, 3) * v3::kLatticeStep;
  auto ang = ints.narrow(1, 3, 3) * (v3::kAngleStep * M_PI / 180.0);
  auto a = len.select(1, 0), b = len.select(1, 1), c = len.select(1, 2);
  auto ca = at::cos(ang.select(1, 0)), cb = at::cos(ang.select(1, 1)), cg = at::cos(ang.select(1, 2));
  auto sg = at::sin(ang.select(1, 2)).clamp_min(1e-6);
  auto zero = at::zeros_like(a);
  auto cx = c * cb, cy = c * (ca - cb * cg) / sg;
  auto cz = at::sqrt((c * c - cx * cx - cy * cy).clamp_min(1e-9));
  return at::stack({at::stack({a, zero, zero}, 1), at::stack({b * cg, b * sg, zero}, 1), at::stack({cx, cy, cz}, 1)}, 1);
}

}  // namespace

at::Tensor atom_counts(const at::Tensor& dens_start) {
  return (dens_start - v3::kDensStartBase).div(v3::kTokensPerAtom, "floor");
}

std::pair<at::Tensor, at::Tensor> drop_position_tokens(const at::Tensor& tokens, const at::Tensor& dens_start) {
  const int64_t L = tokens.size(1);
  auto n_atoms = atom_counts(dens_start).unsqueeze(1);  // [B, 1]
  const int64_t length = L - v3::kPositionTokensPerAtom * n_atoms.max().item<int64_t>();
  auto j = at::arange(length, dens_start.options()).unsqueeze(0);
  auto source = at::where(j < v3::kPositionBase + n_atoms, j, j + v3::kPositionTokensPerAtom * n_atoms);
  auto kept = at::where(source < L, tokens.gather(1, source.clamp_max(L - 1)), at::full_like(source, v3::PAD));
  return {kept, dens_start - v3::kPositionTokensPerAtom * n_atoms.squeeze(1)};
}

TokenGeometry decode_geometry(const at::Tensor& tokens, const at::Tensor& dens_start, int patch) {
  c10::NoGradGuard no_grad;
  const auto dev = tokens.device();
  const auto i64 = at::TensorOptions().dtype(at::kLong).device(dev), f64 = at::TensorOptions().dtype(at::kDouble).device(dev);
  const int64_t B = tokens.size(0), L = tokens.size(1);
  auto n_atoms = atom_counts(dens_start);
  const int64_t n_max = std::max<int64_t>(1, n_atoms.max().item<int64_t>());
  auto a = at::arange(n_max, i64);
  auto atom_valid = a.unsqueeze(0) < n_atoms.unsqueeze(1);  // [B, Nmax]

  // Position tokens of atom a, coordinate d, byte t sit at 17 + N + 9a + 3d + t.
  constexpr int per_atom = v3::kPositionTokensPerAtom;
  auto offs = at::arange(per_atom, i64);
  auto idx = (v3::kPositionBase + n_atoms).view({B, 1, 1}) + per_atom * a.view({1, n_max, 1}) + offs.view({1, 1, per_atom});
  idx = at::where(atom_valid.unsqueeze(2), idx, at::zeros_like(idx)).clamp_max(L - 1);
  auto pos = tokens.gather(1, idx.view({B, n_max * per_atom})).view({B, n_max, 3, 3});
  auto hi = pos.select(3, 0) - v3::kPosOffset[0];
  auto negative = hi >= 256;
  hi = at::where(negative, hi - 256, hi);
  auto bin = (hi * 65536 + (pos.select(3, 1) - v3::kPosOffset[1]) * 256 + (pos.select(3, 2) - v3::kPosOffset[2]))
                 .to(at::kDouble);
  auto frac = at::pow(10.0, bin / static_cast<double>(v3::kPosMaxBin) * -v3::kPosMinLog10 + v3::kPosMinLog10);
  frac = at::where(bin == 0, at::zeros_like(frac), frac);
  frac = at::where(negative, -frac, frac);  // [B, Nmax, 3], relative to the patch origin

  // Voxel (i,j,k) of the patch sits at (i/nx, j/ny, k/nz) relative to the origin.
  auto grid = (tokens.narrow(1, v3::kGridIndex, 3) - v3::kIntOffset).to(at::kDouble);  // [B, 3]
  auto r = at::arange(patch, f64);
  auto mesh = at::meshgrid({r, r, r}, "ij");
  auto offsets = at::stack({mesh[0].reshape(-1), mesh[1].reshape(-1), mesh[2].reshape(-1)}, 1);  // [P³, 3]
  auto voxel = offsets.unsqueeze(0) / grid.unsqueeze(1);                                             // [B, P³, 3]
  auto delta = voxel.unsqueeze(2) - frac.unsqueeze(1);                                               // [B, P³, N, 3]
  delta = delta - at::round(delta);
  TokenGeometry g;
  g.lattice = lattice_from_tokens(tokens);
  g.offset = at::matmul(delta, g.lattice.unsqueeze(1));  // rows: Δf · L
  g.distance = g.offset.pow(2).sum(-1).sqrt().to(at::kFloat);  // norm() over a last axis of 3 is much slower
  g.atom_valid = atom_valid;
  auto species_pos = (v3::kSpeciesIndex + a).unsqueeze(0).expand({B, n_max}).clamp_max(L - 1);
  g.species = at::where(atom_valid, tokens.gather(1, species_pos), at::full_like(species_pos, -1));
  return g;
}

SpeciesHistogram species_radial_histogram(const TokenGeometry& g, double cutoff, int bins) {
  if (!g.offset.is_cpu()) return species_radial_histogram_by_tensor_ops(g, cutoff, bins);
  c10::NoGradGuard no_grad;
  const int64_t B = g.offset.size(0), V = g.offset.size(1), N = g.offset.size(2);
  // One fused loop on the CPU rather than tensor ops over atoms, which take a dozen passes over [B, P³, N] per
  // periodic image (bench/model_bench times both).
  const auto offset = g.offset.to(at::kDouble).contiguous();
  const auto lattice = g.lattice.to(at::kDouble).contiguous();
  const auto species = g.species.to(at::kLong).contiguous();
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
  h.histogram = at::zeros({B, V, groups, bins}, at::kFloat);
  h.first_atom = at::zeros({B, groups}, at::kLong);
  h.valid = at::zeros({B, groups}, at::kBool);
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
  return h;
}

SpeciesHistogram species_radial_histogram_by_tensor_ops(const TokenGeometry& g, double cutoff, int bins) {
  c10::NoGradGuard no_grad;
  const int64_t B = g.offset.size(0), V = g.offset.size(1), N = g.offset.size(2);
  const auto i64 = at::TensorOptions().dtype(at::kLong).device(g.offset.device());
  const auto offset = g.offset.to(at::kDouble), lattice = g.lattice.to(at::kDouble);

  // Species groups in order of first appearance: an atom is first if no earlier atom has its species token.
  const auto& z = g.species;
  auto same = (z.unsqueeze(2) == z.unsqueeze(1)) & (z >= 0).unsqueeze(2);                     // [B, N, N]
  auto is_first = (z >= 0) & ~(same & at::ones({N, N}, i64.dtype(at::kBool)).tril(-1)).any(2);  // [B, N]
  auto group_at_first = at::cumsum(is_first.to(at::kLong), 1) - 1;
  auto group = at::where(z >= 0, group_at_first.gather(1, same.to(at::kInt).argmax(2)), at::full_like(z, -1));
  const int64_t groups = std::max<int64_t>(1, is_first.sum(1).max().item<int64_t>());
  SpeciesHistogram h;
  // Non-first atoms write into a spare column, dropped after.
  h.first_atom = at::zeros({B, groups + 1}, i64)
                     .scatter_(1, at::where(is_first, group_at_first, at::full_like(group, groups)), at::arange(N, i64).expand({B, N}))
                     .narrow(1, 0, groups)
                     .contiguous();
  h.valid = at::arange(groups, i64).unsqueeze(0) < is_first.sum(1, /*keepdim=*/true);

  // Lattice shifts i·a + j·b + k·c with |i|, |j|, |k| up to the batch's largest reach (the loop's bound); images
  // beyond the cutoff add nothing, so a superset of any crystal's shifts gives its histogram.
  auto rows = [&](int d) { return lattice.select(1, d); };
  auto volume = (rows(0) * at::linalg_cross(rows(1), rows(2), -1)).sum(-1).abs();
  int64_t reach = 0;
  for (int d = 0; d < 3; ++d)
    reach = std::max(reach, at::floor(cutoff * at::linalg_cross(rows((d + 1) % 3), rows((d + 2) % 3), -1).norm(2, -1) / volume + 0.5)
                                .max()
                                .item<int64_t>());
  auto span = at::arange(-reach, reach + 1, i64.dtype(at::kDouble));
  auto mesh = at::meshgrid({span, span, span}, "ij");
  auto ijk = at::stack({mesh[0].reshape(-1), mesh[1].reshape(-1), mesh[2].reshape(-1)}, 1);  // [C, 3]
  auto shifts = at::matmul(ijk.unsqueeze(0), lattice);                                         // [B, C, 3]
  const int64_t C = ijk.size(0);

  // Each (slot, atom, shift) adds its hat function to two bins of its species' row, flattened as
  // ((b·V + v)·S + group)·bins + bin; shifts go in chunks of at most 2²⁴ (slot, atom, shift) triples.
  auto histogram = at::zeros({B * V * groups * bins}, offset.options().dtype(at::kFloat));
  auto row = ((at::arange(B, i64).view({B, 1, 1}) * V + at::arange(V, i64).view({1, V, 1})) * groups +
              group.clamp_min(0).view({B, 1, N})) * bins;                                           // [B, V, N]
  auto atom_ok = (group >= 0).view({B, 1, N, 1});
  const double step = cutoff / bins;
  const int64_t chunk = std::max<int64_t>(1, (int64_t{1} << 24) / std::max<int64_t>(1, B * V * N));
  for (int64_t c0 = 0; c0 < C; c0 += chunk) {
    const int64_t c = std::min(chunk, C - c0);
    auto s = shifts.narrow(1, c0, c).view({B, 1, 1, c, 3});
    auto r = (offset.unsqueeze(3) + s).pow(2).sum(-1).sqrt();  // [B, V, N, c]
    auto pos = r / step;
    auto lower = at::floor(pos).clamp_max(bins - 1);
    auto frac = pos - lower;
    auto inside = (r < cutoff) & atom_ok;
    auto upper_inside = inside & (lower + 1 < bins);
    auto index = row.unsqueeze(-1) + lower.to(at::kLong);
    histogram.index_add_(0, index.reshape(-1), at::where(inside, 1 - frac, at::zeros_like(frac)).to(at::kFloat).reshape(-1));
    histogram.index_add_(0, at::where(upper_inside, index + 1, index).reshape(-1),
                         at::where(upper_inside, frac, at::zeros_like(frac)).to(at::kFloat).reshape(-1));
  }
  h.histogram = histogram.view({B, V, groups, bins});
  return h;
}

}  // namespace rhotrain
