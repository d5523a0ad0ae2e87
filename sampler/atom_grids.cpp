#include "sampler/atom_grids.h"

namespace rhotrain {

AtomGrids::AtomGrids(std::shared_ptr<const AtomicDensity> atoms, std::shared_ptr<const PatchSource> source, size_t max_bytes)
    : atoms_(std::move(atoms)), source_(std::move(source)), max_bytes_(max_bytes) {}

std::shared_ptr<const std::vector<float>> AtomGrids::grid(size_t i) const {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = grids_.find(i); it != grids_.end()) {
      recent_.splice(recent_.begin(), recent_, it->second.place);
      return it->second.grid;
    }
  }
  // Computed outside the lock; two threads that miss at once compute the same grid, and the first one is kept.
  auto computed = std::make_shared<const std::vector<float>>(atoms_->grid(source_->meta(i)));
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = grids_.find(i); it != grids_.end()) return it->second.grid;
  recent_.push_front(i);
  grids_[i] = {computed, recent_.begin()};
  bytes_ += computed->size() * sizeof(float);
  while (bytes_ > max_bytes_ && recent_.size() > 1) {
    const size_t oldest = recent_.back();
    recent_.pop_back();
    bytes_ -= grids_[oldest].grid->size() * sizeof(float);
    grids_.erase(oldest);
  }
  return computed;
}

void AtomGrids::read_patch(size_t i, const Grid& origin, int patch, float* out) const {
  gather_patch(source_->meta(i).grid, grid(i)->data(), origin, patch, out);
}

}  // namespace rhotrain
