#include "pictures/slice_plane.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <tuple>
#include <utility>

#include "common/elements.h"
#include "common/error.h"

namespace rhotrain {
namespace {

constexpr double kOnPlaneTolerance = 0.05;  // Å from the plane
constexpr int kMaxSearchIndex = 2;          // plane_with_most_atoms tries |h|, |k|, |l| up to this
constexpr int kMaxThroughIndex = 12;        // plane_through_atoms accepts indices up to this

std::string where(const MaterialMeta& m) { return m.id.empty() ? std::string("material") : m.id; }

void check_atoms(const MaterialMeta& m) {
  if (m.n_atoms() == 0) throw Error(where(m) + ": no atoms to lay a plane through");
  if (m.frac_coords.size() != m.n_atoms())
    throw Error(where(m) + ": " + std::to_string(m.n_atoms()) + " atoms but " + std::to_string(m.frac_coords.size()) +
                " positions");
  if (!(std::fabs(m.lattice.determinant()) > 1e-9)) throw Error(where(m) + ": the lattice spans no volume");
}

// The plane's normal G = B·h in Cartesian reciprocal space (columns of B = lattice⁻¹, no 2π): h·x = G·r, so
// 1/|G| is the distance between neighbouring planes of the family.
Eigen::Vector3d reciprocal_normal(const Eigen::Matrix3d& lattice, const Eigen::Vector3i& h) {
  return lattice.inverse() * h.cast<double>();
}

// Atoms with an image within the tolerance of h·x = h·origin, each once, ascending. Lattice translations change
// h·x by whole numbers, so the distance of an atom's nearest image is that of h·(x − origin) to an integer.
std::vector<int> atoms_on_plane(const MaterialMeta& m, const Eigen::Vector3i& h, const Eigen::Vector3d& origin) {
  const double spacing = 1 / reciprocal_normal(m.lattice, h).norm();
  const Eigen::Vector3d hd = h.cast<double>();
  std::vector<int> on;
  for (size_t i = 0; i < m.n_atoms(); ++i) {
    const double offset = hd.dot(m.frac_coords[i] - origin);
    if (std::fabs(offset - std::round(offset)) * spacing <= kOnPlaneTolerance) on.push_back(static_cast<int>(i));
  }
  return on;
}

// g = gcd(|a|, |b|) with x·a + y·b = g.
std::tuple<int, int, int> extended_gcd(int a, int b) {
  if (b == 0) return {std::abs(a), a < 0 ? -1 : 1, 0};
  const auto [g, x, y] = extended_gcd(b, a % b);
  return {g, y, x - (a / b) * y};
}

// A basis of the integer vectors n with h·n = 0 for coprime h: with g = gcd(h0, h1) = x·h0 + y·h1 the vectors
// (h1/g, −h0/g, 0) and (x·h2, y·h2, −g) both lie in the plane and their cross product is h itself, so they span the
// whole plane lattice whatever the size of the indices.
std::pair<Eigen::Vector3i, Eigen::Vector3i> plane_lattice_basis(const Eigen::Vector3i& h) {
  const auto [g, x, y] = extended_gcd(h[0], h[1]);
  if (g == 0) return {Eigen::Vector3i(1, 0, 0), Eigen::Vector3i(0, 1, 0)};
  return {Eigen::Vector3i(h[1] / g, -h[0] / g, 0), Eigen::Vector3i(x * h[2], y * h[2], -g)};
}

// Lagrange–Gauss reduction in the Cartesian metric: u becomes the shortest vector of the plane lattice and v the
// shortest one completing a basis, so the picture's cell is as compact as the plane allows.
void reduce_basis(const Eigen::Matrix3d& lattice, Eigen::Vector3i& u, Eigen::Vector3i& v) {
  const auto cartesian = [&](const Eigen::Vector3i& n) -> Eigen::Vector3d {
    return lattice.transpose() * n.cast<double>();
  };
  for (;;) {
    if (cartesian(u).squaredNorm() > cartesian(v).squaredNorm()) std::swap(u, v);
    const double ratio = cartesian(u).dot(cartesian(v)) / cartesian(u).squaredNorm();
    // A ratio of exactly ±½ is already reduced; stepping on it would swap between two equally short vectors forever.
    if (std::fabs(ratio) <= 0.5 + 1e-9) return;
    v -= static_cast<int>(std::round(ratio)) * u;
  }
}

Eigen::Vector3i with_leading_positive(const Eigen::Vector3i& n) {
  for (int a = 0; a < 3; ++a)
    if (n[a] != 0) return n[a] < 0 ? Eigen::Vector3i(-n) : n;
  return n;
}

SlicePlane make_plane(const MaterialMeta& m, const Eigen::Vector3i& h, const Eigen::Vector3d& origin) {
  SlicePlane p;
  p.miller = h;
  p.origin = origin;
  p.atoms = atoms_on_plane(m, h, origin);
  std::tie(p.u, p.v) = plane_lattice_basis(h);
  reduce_basis(m.lattice, p.u, p.v);
  p.u = with_leading_positive(p.u);
  // (u, v, G) right-handed: seen from the side G points to, v lies counter-clockwise from u.
  const Eigen::Matrix3d to_cartesian = m.lattice.transpose();
  const Eigen::Vector3d area = (to_cartesian * p.u.cast<double>()).cross(to_cartesian * p.v.cast<double>());
  if (area.dot(reciprocal_normal(m.lattice, h)) < 0) p.v = -p.v;
  return p;
}

// Coprime h with entries up to kMaxSearchIndex, one of each ±h pair, lowest indices first: by Σ|h_i|, then
// max |h_i|, then (0 0 1) before (0 1 0) before (1 0 0), positive entries before negative ones.
std::vector<Eigen::Vector3i> low_index_planes() {
  std::vector<Eigen::Vector3i> planes;
  for (int h = -kMaxSearchIndex; h <= kMaxSearchIndex; ++h)
    for (int k = -kMaxSearchIndex; k <= kMaxSearchIndex; ++k)
      for (int l = -kMaxSearchIndex; l <= kMaxSearchIndex; ++l) {
        const Eigen::Vector3i n(h, k, l);
        if (n.isZero() || with_leading_positive(n) != n) continue;
        if (std::gcd(std::gcd(h, k), l) == 1) planes.push_back(n);
      }
  const auto key = [](const Eigen::Vector3i& n) {
    const Eigen::Vector3i a = n.cwiseAbs();
    return std::make_tuple(a.sum(), a.maxCoeff(), a[0], a[1], a[2], -n[0], -n[1], -n[2]);
  };
  std::sort(planes.begin(), planes.end(), [&](const auto& x, const auto& y) { return key(x) < key(y); });
  return planes;
}

}  // namespace

SlicePlane plane_with_most_atoms(const MaterialMeta& m) {
  check_atoms(m);
  Eigen::Vector3i best_h(0, 0, 1);
  int best_anchor = 0;
  size_t best_count = 0;
  for (const Eigen::Vector3i& h : low_index_planes())
    for (size_t a = 0; a < m.n_atoms(); ++a) {
      const size_t count = atoms_on_plane(m, h, m.frac_coords[a]).size();
      if (count > best_count) best_h = h, best_anchor = static_cast<int>(a), best_count = count;
    }
  return make_plane(m, best_h, m.frac_coords[best_anchor]);
}

SlicePlane plane_through_atoms(const MaterialMeta& m, int a, int b, int c) {
  check_atoms(m);
  const int n_atoms = static_cast<int>(m.n_atoms());
  for (int i : {a, b, c})
    if (i < 0 || i >= n_atoms)
      throw Error(where(m) + ": atom " + std::to_string(i) + " is out of range (the material has " +
                  std::to_string(n_atoms) + " atoms, numbered from 0)");
  const std::string named = "atoms " + std::to_string(a) + ", " + std::to_string(b) + " and " + std::to_string(c);
  const Eigen::Vector3d &fa = m.frac_coords[a], &fb = m.frac_coords[b], &fc = m.frac_coords[c];
  // In fractional coordinates the plane is h·x = d, so h is parallel to the normal of the three positions.
  const Eigen::Vector3d normal = (fb - fa).cross(fc - fa);
  const double largest = normal.cwiseAbs().maxCoeff();
  if (!(largest > 1e-6 * (fb - fa).norm() * (fc - fa).norm()))
    throw Error(where(m) + ": " + named + " are collinear, so no single plane passes through them");
  // Scaled so its largest entry is ±1, the normal is h / max|h_i|: the first multiple that is integral gives h.
  const Eigen::Vector3d unit = normal / largest;
  for (int k = 1; k <= kMaxThroughIndex; ++k) {
    const Eigen::Vector3d scaled = unit * k, rounded = scaled.array().round();
    if ((scaled - rounded).cwiseAbs().maxCoeff() > 1e-3) continue;
    Eigen::Vector3i h = rounded.cast<int>();
    h /= std::gcd(std::gcd(h[0], h[1]), h[2]);
    return make_plane(m, with_leading_positive(h), fa);
  }
  throw Error(where(m) + ": " + named + " do not lie on a lattice plane with indices up to " +
              std::to_string(kMaxThroughIndex));
}

std::string describe_plane(const MaterialMeta& m, const SlicePlane& plane) {
  std::string s = "(" + std::to_string(plane.miller[0]) + " " + std::to_string(plane.miller[1]) + " " +
                  std::to_string(plane.miller[2]) + ") through ";
  // The plane keeps only the anchor's position: the anchor is the atom on the plane sitting there.
  int anchor = -1;
  for (int i : plane.atoms) {
    if (i < 0 || static_cast<size_t>(i) >= std::min(m.n_atoms(), m.frac_coords.size())) continue;
    const Eigen::Vector3d d = m.frac_coords[i] - plane.origin;
    if ((d - d.array().round().matrix()).cwiseAbs().maxCoeff() < 1e-9) {
      anchor = i;
      break;
    }
  }
  if (anchor >= 0) {
    s += element_symbol(m.numbers[anchor]) + " " + std::to_string(anchor);
  } else {
    char point[96];
    std::snprintf(point, sizeof point, "(%.3g, %.3g, %.3g)", plane.origin[0], plane.origin[1], plane.origin[2]);
    s += point;
  }
  const size_t n = plane.atoms.size();
  return s + ", " + std::to_string(n) + (n == 1 ? " atom" : " atoms");
}

}  // namespace rhotrain
