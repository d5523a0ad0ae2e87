// The crystal geometry a density transformer reads back out of its own input tokens: the lattice, each atom's
// position relative to every density slot of the patch, and the per-species periodic-image radial histograms
// that feed the geometry message. No parameters and no gradients: everything comes from integer tokens.
#pragma once
#include <ATen/core/Tensor.h>

#include <utility>

namespace rhotrain {

// Atoms of each sequence [B] from its DENS_START index [B] (the v3 layout puts it at 10N + 18).
at::Tensor atom_counts(const at::Tensor& dens_start);

// The sequences without their 9N position tokens, PAD-filled, and DENS_START moved from 10N + 18 to N + 18;
// every other token keeps its index. The new length is L − 9·(the batch's largest N).
std::pair<at::Tensor, at::Tensor> drop_position_tokens(const at::Tensor& tokens, const at::Tensor& dens_start);

struct TokenGeometry {
  at::Tensor offset;      // [B, P³, Nmax, 3] float64 voxel − atom, minimum image in fractional coordinates, Å
  at::Tensor distance;    // [B, P³, Nmax] its length, float32
  at::Tensor lattice;     // [B, 3, 3] float64, rows a, b, c
  at::Tensor atom_valid;  // [B, Nmax] bool
  at::Tensor species;     // [B, Nmax] int64 species token of each atom, −1 past the last atom
};
// tokens [B, L] int64 (PAD-filled), dens_start [B] int64, patch edge P.
TokenGeometry decode_geometry(const at::Tensor& tokens, const at::Tensor& dens_start, int patch);

// Radial histogram of each species' atoms around each density slot: every periodic image of every atom
// within `cutoff` adds a hat function (linear interpolation between bin centres 0, Δ, 2Δ, …, Δ = cutoff/bins,
// falling to zero at the cutoff) to its species' row. Small cells put several images of one atom inside
// the cutoff, and the density there is their sum, which the minimum image alone misses.
struct SpeciesHistogram {
  at::Tensor histogram;   // [B, P³, S, bins] float32, S = most species in one sequence of the batch
  at::Tensor first_atom;  // [B, S] int64: the first atom of each species, species in order of first appearance
  at::Tensor valid;       // [B, S] bool
};
// On the CPU one fused loop; on an accelerator species_radial_histogram_by_tensor_ops, so nothing leaves the device.
SpeciesHistogram species_radial_histogram(const TokenGeometry& g, double cutoff, int bins);
// The same histogram from tensor operations on the geometry's own device (equal to the loop's within float rounding).
SpeciesHistogram species_radial_histogram_by_tensor_ops(const TokenGeometry& g, double cutoff, int bins);

}  // namespace rhotrain
