// The HDF5 material store (format "rhotrain-store", version 1; layout in docs/design.md).
// StoreWriter builds or extends one file; MaterialStore reads one or more files (shards) by material id,
// including single P×P×P periodic patches through a bounded LRU cache of HDF5 chunks.
#pragma once
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "materials/material.h"

namespace rhotrain {

// Version 1: a store in one file (materials and splits; a dataset may span several such files). Version 2: one part
// of a directory store — a shard of materials (shard-NNNNN.h5, never rewritten once written) or the store's splits
// (splits.h5, a small file that `split` replaces). This build reads both and writes version 1 for single files.
constexpr int kStoreVersion = 2;
constexpr const char* kStoreFormat = "rhotrain-store";
enum class StorePart { whole, shard, splits };

// Whether `path` names a directory store: an existing folder, or a path not ending in .h5 (one about to be made).
bool names_directory_store(const std::string& path);
// The files of a directory store: splits.h5 (when there is one), then the shards in order; temporary files aside.
std::vector<std::string> directory_store_parts(const std::string& dir);

// Writes into a store file. Opening an existing file checks its format and version first.
// Callers that need all-or-nothing semantics write a copy under a temporary name (see PendingFile).
class StoreWriter {
 public:
  enum class Mode { create, append };
  StoreWriter(const std::string& path, Mode mode, StorePart part = StorePart::whole);
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  bool contains(const std::string& id) const;
  // Adds a material; an id already present is an error unless `overwrite`.
  void write(const Material& m, bool overwrite = false);
  // Replaces the split `name` with `ids` (order kept).
  void write_split(const std::string& name, const std::vector<std::string>& ids);
  void remove_split(const std::string& name);
  std::vector<std::string> ids() const;
  // The file's size as written so far.
  size_t file_bytes() const;
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct CacheStats {
  size_t hits = 0, misses = 0, bytes = 0, capacity = 0;
};

// Applies `change` to a copy of the store at `path` (or to a new store when there is none) and renames the copy
// into place only when everything succeeded, so an error never leaves a half-written store behind.
void update_store(const std::string& path, const std::function<void(StoreWriter&)>& change, StorePart part = StorePart::whole);

// Read access to one or more store files. Thread-safe: HDF5 calls are serialised internally.
class MaterialStore {
 public:
  static constexpr size_t kDefaultCacheBytes = size_t{512} << 20;

  // Opens every file; throws Error naming the file when it is missing, not HDF5, not a rhotrain store,
  // newer than this build supports, or when two files hold the same material id.
  explicit MaterialStore(const std::vector<std::string>& paths, size_t cache_bytes = kDefaultCacheBytes);
  ~MaterialStore();

  const std::vector<std::string>& paths() const { return paths_; }
  // Every material id in shard order, then by name.
  const std::vector<std::string>& ids() const { return ids_; }
  bool contains(const std::string& id) const { return shard_of_.count(id) > 0; }

  // Split names and their sizes, merged over shards (a split's lists are concatenated in shard order).
  std::map<std::string, size_t> split_sizes() const;
  // Ids of a split; throws Error when it is missing or empty.
  std::vector<std::string> split(const std::string& name) const;

  // (ΣZ, ∫ρ dV) from the material's attributes only: what the Phase 0 preview needs.
  std::pair<double, double> electrons(const std::string& id) const;
  // Counts and sizes from the material's attributes and dataset shapes only, no data read: what `info` needs to
  // summarise 100 000 materials in seconds.
  struct Sizes {
    size_t n_atoms = 0;
    Grid grid{};
    double n_electrons = 0, n_electrons_grid = 0;
  };
  Sizes sizes(const std::string& id) const;
  // Metadata without the density (reads attributes and small datasets only), memoised.
  const MaterialMeta& meta(const std::string& id) const;
  Material read(const std::string& id) const;

  // The P×P×P block starting at voxel `origin`, wrapping periodically, C-ordered into out[P³].
  // Reads only the HDF5 chunks it touches; chunks stay in the LRU cache up to cache_bytes.
  void read_patch(const std::string& id, const Grid& origin, int patch, float* out) const;
  CacheStats cache_stats() const;

 private:
  struct Shard;
  struct Block;
  std::shared_ptr<const Block> block(const std::string& id, const Grid& block_index) const;
  const Shard& shard(const std::string& id) const;
  std::string description() const;  // first path (+N more), for error messages

  std::vector<std::string> paths_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::string> ids_;
  std::unordered_map<std::string, size_t> shard_of_;

  mutable std::mutex meta_mutex_;
  mutable std::unordered_map<std::string, std::unique_ptr<MaterialMeta>> meta_;

  struct Cache;
  std::unique_ptr<Cache> cache_;
};

// Whether a store file failed to close (a full disk) in this process. HDF5 then cannot shut down: at exit it closes
// the file again and crashes, so main ends such a process without running library destructors.
bool hdf5_shutdown_unsafe();

// Expands shell-style globs ("data/shard-*.h5", sorted) and directory stores (their splits.h5, then their shards in
// order); any other path is passed through unchanged so that a missing file is reported by name.
std::vector<std::string> expand_store_paths(const std::vector<std::string>& patterns);

}  // namespace rhotrain
