// Where the tokenizer gets patch densities from: the HDF5 store (through its chunk cache) or grids in memory.
// Both index the training list 0..size()-1 and are safe to read from several threads at once.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "materials/material.h"
#include "materials/store.h"

namespace rhotrain {

class PatchSource {
 public:
  virtual ~PatchSource() = default;
  virtual size_t size() const = 0;
  virtual const MaterialMeta& meta(size_t i) const = 0;
  virtual void read_patch(size_t i, const Grid& origin, int patch, float* out) const = 0;
};

class StorePatchSource : public PatchSource {
 public:
  StorePatchSource(std::shared_ptr<const MaterialStore> store, std::vector<std::string> ids);
  size_t size() const override { return ids_.size(); }
  const MaterialMeta& meta(size_t i) const override { return *metas_[i]; }
  void read_patch(size_t i, const Grid& origin, int patch, float* out) const override;

 private:
  std::shared_ptr<const MaterialStore> store_;
  std::vector<std::string> ids_;
  std::vector<const MaterialMeta*> metas_;
};

class MemoryPatchSource : public PatchSource {
 public:
  explicit MemoryPatchSource(std::vector<Material> materials) : materials_(std::move(materials)) {}
  size_t size() const override { return materials_.size(); }
  const MaterialMeta& meta(size_t i) const override { return materials_[i]; }
  void read_patch(size_t i, const Grid& origin, int patch, float* out) const override {
    gather_patch(materials_[i].grid, materials_[i].density.data(), origin, patch, out);
  }

 private:
  std::vector<Material> materials_;
};

}  // namespace rhotrain
