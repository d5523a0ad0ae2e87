// A crystal and its electron density on a periodic grid: the record every rhotrain unit passes around.
// Lattice rows are a, b, c in Å; density is e/Å³, C-ordered [nx][ny][nz]; voxel (i,j,k) sits at (i/nx, j/ny, k/nz).
#pragma once
#include <Eigen/Dense>
#include <array>
#include <cstddef>
#include <string>
#include <vector>

namespace rhotrain {

using Grid = std::array<int, 3>;

inline size_t voxel_count(const Grid& g) {
  return static_cast<size_t>(g[0]) * static_cast<size_t>(g[1]) * static_cast<size_t>(g[2]);
}

// Everything about a material except its density grid: what the store can list without reading voxels.
struct MaterialMeta {
  std::string id;
  Eigen::Matrix3d lattice = Eigen::Matrix3d::Zero();  // rows = lattice vectors, Å
  std::vector<int> numbers;                           // atomic numbers Z
  std::vector<Eigen::Vector3d> frac_coords;           // fractional, one per atom
  Grid grid = {0, 0, 0};
  double n_electrons = 0;       // ΣZ
  double n_electrons_grid = 0;  // ∫ρ dV over the cell
  std::string source;           // where it came from (file, generator)

  size_t n_atoms() const { return numbers.size(); }
};

struct Material : MaterialMeta {
  std::vector<float> density;  // e/Å³, voxel_count(grid) values
};

double cell_volume(const Eigen::Matrix3d& lattice);  // signed: a · (b × c)
double sum_z(const std::vector<int>& numbers);
double integrate_density(const Eigen::Matrix3d& lattice, const Grid& grid, const std::vector<float>& density);

// Copies the P×P×P block starting at voxel `origin` (wrapping periodically) into out[P³], C order.
void gather_patch(const Grid& grid, const float* density, const Grid& origin, int patch, float* out);

// Fills n_electrons (ΣZ) and n_electrons_grid (∫ρ dV) from the other fields.
void compute_electron_counts(Material& m);

// Throws rhotrain::Error("<where>: <problem>") on a non-positive cell volume, a grid that does not
// match the density size, a NaN or Inf value, an unknown Z, or atoms without coordinates.
void validate_material(const Material& m, const std::string& where);
// The same checks for a structure alone (no grid, no density), and two atoms closer than 0.1 Å (one site twice).
void validate_structure(const MaterialMeta& m, const std::string& where);

// What a store keeps of a file that is valid but unusual, each change or finding said in a returned line: atoms outside
// [0, 1) are wrapped into the cell (their images are the same crystal); negative densities (DFT noise, or pseudo
// densities) are kept as read, and counted, since every voxel is scored against the file's own values.
std::vector<std::string> normalise_for_store(Material& m);

// The smallest n' ≥ n of the form 2^a·3^b·5^c: the grid sizes FFTs, and so DFT codes, choose.
int fft_friendly_size(int n);
// The grid a DFT code would choose for `spacing` Å: each axis |a_i| / spacing rounded up to an FFT-friendly size.
Grid grid_for_spacing(const Eigen::Matrix3d& lattice, double spacing);

}  // namespace rhotrain
