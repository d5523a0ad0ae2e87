#include "models/geometry.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

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
  at::NoGradGuard no_grad;
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
  at::NoGradGuard no_grad;
  const int64_t B = g.offset.size(0), V = g.offset.size(1), N = g.offset.size(2);
  // One fused loop on the CPU rather than tensor ops over atoms, which would take a dozen passes over
  // [B, P³, N] per periodic image (bench/model_bench times it).
  const auto offset = g.offset.to(at::kCPU, at::kDouble).contiguous();
  const auto lattice = g.lattice.to(at::kCPU, at::kDouble).contiguous();
  const auto species = g.species.to(at::kCPU, at::kLong).contiguous();
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
  const auto dev = g.offset.device();
  h.histogram = h.histogram.to(dev), h.first_atom = h.first_atom.to(dev), h.valid = h.valid.to(dev);
  return h;
}

}  // namespace rhotrain
