// The atomic-density baseline (the "promolecule", the start every DFT code uses): ρ_atoms(r) = Σ_atoms Σ_images f_Z(|r − R|),
// each element's radial profile f_Z a sum of Gaussians whose weights are fitted by least squares on a training split.
// It is the baseline every learned density is scored against, and the residual target learns ρ − ρ_atoms.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "materials/material.h"
#include "materials/store.h"

namespace rhotrain {

// f_Z(r) = Σ_k c_{Z,k} exp(−r²/2σ_k²) for every element the fit saw, on widths σ_k shared by all elements.
class AtomicDensity {
 public:
  static std::vector<double> default_widths();  // 16 σ geometrically spaced from 0.1 to 2.0 Å

  AtomicDensity() = default;
  // Throws Error when a coefficient row does not have one value per width or a width is not positive.
  AtomicDensity(std::vector<double> widths, std::map<int, std::vector<double>> coefficients);

  const std::vector<double>& widths() const { return widths_; }
  const std::map<int, std::vector<double>>& coefficients() const { return coefficients_; }
  bool knows(int z) const { return coefficients_.count(z) > 0; }
  // The elements of `numbers` the fit never saw, as symbols ("Xx, Yy"); "" when it saw them all.
  std::string unseen_elements(const std::vector<int>& numbers) const;

  double profile(int z, double r) const;                    // f_Z(r), e/Å³
  double electrons(int z) const;                            // ∫ f_Z dV
  double electrons(const std::vector<int>& numbers) const;  // Σ over the atoms: the charge the baseline implies

  // ρ_atoms on m.grid (e/Å³, C order) with every periodic image summed: narrow Gaussians in real space, wide ones in
  // reciprocal space with the aliased frequencies added (so each voxel is an exact point sample), both until a
  // Gaussian has fallen to 1e-12 of its peak. Throws Error naming an element the fit never saw.
  std::vector<float> grid(const MaterialMeta& m) const;

  // HDF5: datasets widths [K], elements [E] (int32), coefficients [E, K]; attributes format, version, fit_split,
  // fit_materials, fit_voxels, ridge.
  void save(const std::string& path) const;
  static AtomicDensity load(const std::string& path);
  // Of the widths and coefficients: which fit a residual codec was made for.
  uint64_t fingerprint() const;

  std::string fit_split;
  uint64_t fit_materials = 0, fit_voxels = 0;
  double ridge = 0;

 private:
  std::vector<double> widths_;
  std::map<int, std::vector<double>> coefficients_;
};

// Periodic sums of Gaussians on m.grid, the engine under the fit and AtomicDensity::grid: for atom a and width k,
// weight[a·K + k] · Σ_T exp(−|r − R_a − T|²/2σ_k²) over every lattice translation T is added to column column[a·K + k]
// (−1: left out) of the result [voxels, columns].
Eigen::MatrixXd periodic_gaussian_columns(const MaterialMeta& m, const std::vector<double>& widths, const std::vector<int>& column,
                                          const std::vector<double>& weight, int columns);

struct AtomicFitOptions {
  std::vector<double> widths = AtomicDensity::default_widths();
  double ridge = 1e-9;  // relative to each coefficient's diagonal of the normal equations
  int threads = 1;
  std::function<void(size_t done, size_t total)> progress;  // called after each material, in order of completion
};

// Joint linear least squares over every voxel of `split`, each material's squared error divided by (voxels × mean|ρ|²)
// so that every material counts once, as in the per-material NMAE. Deterministic for any thread count.
AtomicDensity fit_atomic_density(const MaterialStore& store, const std::string& split, const AtomicFitOptions& options = {});

}  // namespace rhotrain
