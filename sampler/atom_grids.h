// ρ_atoms of a patch source's materials, for the residual target: each grid computed on first use and kept, up to a
// byte budget (the least recently used go first), so that a patch's baseline costs a copy once the grid is there.
#pragma once
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "materials/atomic_density.h"
#include "sampler/patch_source.h"

namespace rhotrain {

class AtomGrids {
 public:
  AtomGrids(std::shared_ptr<const AtomicDensity> atoms, std::shared_ptr<const PatchSource> source, size_t max_bytes);

  const AtomicDensity& atoms() const { return *atoms_; }
  // The P×P×P block of material i's ρ_atoms at `origin` (periodic), C order. Safe from several threads at once.
  void read_patch(size_t i, const Grid& origin, int patch, float* out) const;

 private:
  std::shared_ptr<const std::vector<float>> grid(size_t i) const;

  std::shared_ptr<const AtomicDensity> atoms_;
  std::shared_ptr<const PatchSource> source_;
  size_t max_bytes_;
  mutable std::mutex mutex_;
  mutable std::list<size_t> recent_;  // most recently used first
  struct Entry {
    std::shared_ptr<const std::vector<float>> grid;
    std::list<size_t>::iterator place;
  };
  mutable std::map<size_t, Entry> grids_;
  mutable size_t bytes_ = 0;
};

}  // namespace rhotrain
