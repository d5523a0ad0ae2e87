// A lattice plane through a crystal, the 2-D cut a density picture shows: which plane (Miller indices and the
// atom it passes through), the periodic cell of the plane, and the atoms lying on it.
#pragma once
#include <Eigen/Dense>
#include <string>
#include <vector>

#include "materials/material.h"

namespace rhotrain {

// Points origin + s·u + t·v (s, t ∈ [0, 1)) are one periodic cell of the plane h·x = h·origin, all in fractional
// coordinates of the crystal; u and v are integer lattice vectors with h·u = h·v = 0 spanning the plane's lattice, u the
// shortest, v the shortest that completes it, (u, v, G) right-handed. The first non-zero index of h is positive.
struct SlicePlane {
  Eigen::Vector3i miller = Eigen::Vector3i::Zero();  // (h, k, l), coprime
  Eigen::Vector3d origin = Eigen::Vector3d::Zero();  // fractional; an atom's position
  Eigen::Vector3i u = Eigen::Vector3i::Zero(), v = Eigen::Vector3i::Zero();
  std::vector<int> atoms;  // indices of the atoms on the plane (within 0.05 Å, periodic images included)
};

// Among the lattice planes with |h|, |k|, |l| ≤ 2 through every atom, the one with the most atoms on it; ties go to
// the lowest indices ((0 0 1) before (1 1 0) before (1 1 1)), then to the first atom.
SlicePlane plane_with_most_atoms(const MaterialMeta& m);

// The lattice plane through three atoms (0-based indices); throws Error when they are collinear or their plane is
// not a lattice plane with indices up to 12.
SlicePlane plane_through_atoms(const MaterialMeta& m, int a, int b, int c);

// E.g. "(1 1 0) through Si 0, 4 atoms".
std::string describe_plane(const MaterialMeta& m, const SlicePlane& plane);

}  // namespace rhotrain
