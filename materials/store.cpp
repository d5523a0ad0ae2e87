#include "materials/store.h"


#include <algorithm>
#include <filesystem>
#include <list>

#include "common/error.h"
#include "common/text.h"
#include "common/files.h"
#include "materials/hdf5_file.h"

namespace rhotrain {

using namespace hdf5;

struct MaterialStore::Shard {
  std::string path;
  std::unique_ptr<H5::H5File> file;
};

struct MaterialStore::Block {
  Grid dims;                // block extent (edge blocks are smaller)
  std::vector<float> data;  // C order over dims
};

struct MaterialStore::Cache {
  using Key = std::string;
  struct Entry {
    std::shared_ptr<const Block> block;
    std::list<Key>::iterator lru;
  };
  std::mutex mutex;
  std::list<Key> lru;  // front = most recent
  std::unordered_map<Key, Entry> map;
  CacheStats stats;
};

MaterialStore::MaterialStore(const std::vector<std::string>& paths, size_t cache_bytes)
    : paths_(paths), cache_(std::make_unique<Cache>()) {
  silence_hdf5();
  if (paths.empty()) throw Error("no store file given");
  cache_->stats.capacity = cache_bytes;
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  for (const auto& path : paths) {
    for (const auto& s : shards_)
      if (std::filesystem::exists(path) && std::filesystem::equivalent(s->path, path))
        throw Error(path + ": the same store file is given twice (also as " + s->path + ")");
    auto s = std::make_unique<Shard>();
    s->path = path;
    s->file = open_store_file(path, H5F_ACC_RDONLY);
    try {
      for (auto& id : member_names(*s->file, "/materials")) {
        auto [it, inserted] = shard_of_.emplace(id, shards_.size());
        if (!inserted)
          throw Error(path + ": material id '" + id + "' is also in " + shards_[it->second]->path);
        ids_.push_back(std::move(id));
      }
    } catch (const H5::Exception& e) {
      rethrow_hdf5(path, e);
    }
    shards_.push_back(std::move(s));
  }
}

MaterialStore::~MaterialStore() {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  shards_.clear();
}

std::string MaterialStore::description() const {
  return paths_.front() + (paths_.size() > 1 ? " (+" + std::to_string(paths_.size() - 1) + " more)" : "");
}

const MaterialStore::Shard& MaterialStore::shard(const std::string& id) const {
  auto it = shard_of_.find(id);
  if (it == shard_of_.end()) {
    throw Error(description() + ": no material with id '" + id + "'" + did_you_mean(id, ids_) + " (rhotrain info --ids lists them)");
  }
  return *shards_[it->second];
}

std::map<std::string, size_t> MaterialStore::split_sizes() const {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  std::map<std::string, size_t> sizes;
  for (const auto& s : shards_) {
    try {
      for (const auto& name : member_names(*s->file, "/splits"))
        sizes[name] += dims_of(s->file->openDataSet("/splits/" + name)).at(0);
    } catch (const H5::Exception& e) {
      rethrow_hdf5(s->path, e);
    }
  }
  return sizes;
}

std::vector<std::string> MaterialStore::split(const std::string& name) const {
  std::vector<std::string> ids;
  bool found = false;
  {
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    for (const auto& s : shards_) {
      try {
        const std::string link = "/splits/" + name;
        if (!link_exists(*s->file, "/splits") || !link_exists(*s->file, link)) continue;
        found = true;
        auto part = read_string_list(s->file->openDataSet(link));
        ids.insert(ids.end(), part.begin(), part.end());
      } catch (const H5::Exception& e) {
        rethrow_hdf5(s->path, e);
      }
    }
  }
  const std::string where = description();
  if (!found) {
    std::string have;
    for (const auto& [n, size] : split_sizes()) have += (have.empty() ? "" : ", ") + n;
    throw Error(where + ": no split '" + name + "' (splits present: " + (have.empty() ? "none" : have) + ")");
  }
  if (ids.empty()) throw Error(where + ": split '" + name + "' is empty");
  for (const auto& id : ids)
    if (!contains(id)) throw Error(where + ": split '" + name + "' lists unknown material id '" + id + "'");
  return ids;
}

std::pair<double, double> MaterialStore::electrons(const std::string& id) const {
  const Shard& s = shard(id);
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  try {
    H5::Group g = s.file->openGroup("/materials/" + id);
    return {read_scalar_attr<double>(g, "n_electrons", H5::PredType::NATIVE_DOUBLE),
            read_scalar_attr<double>(g, "n_electrons_grid", H5::PredType::NATIVE_DOUBLE)};
  } catch (const H5::Exception& e) {
    rethrow_hdf5(s.path + " (material '" + id + "')", e);
  }
}

MaterialStore::Sizes MaterialStore::sizes(const std::string& id) const {
  const Shard& s = shard(id);
  Sizes z;
  std::tie(z.n_electrons, z.n_electrons_grid) = electrons(id);
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  try {
    H5::Group g = s.file->openGroup("/materials/" + id);
    z.n_atoms = static_cast<size_t>(dims_of(g.openDataSet("numbers")).at(0));
    const auto grid = dims_of(g.openDataSet("density"));
    if (grid.size() != 3) throw Error(s.path + ": material '" + id + "': density is not 3-D");
    for (int d = 0; d < 3; ++d) z.grid[d] = static_cast<int>(grid[d]);
    return z;
  } catch (const H5::Exception& e) {
    rethrow_hdf5(s.path + " (material '" + id + "')", e);
  }
}

const MaterialMeta& MaterialStore::meta(const std::string& id) const {
  {
    std::lock_guard<std::mutex> lock(meta_mutex_);
    auto it = meta_.find(id);
    if (it != meta_.end()) return *it->second;
  }
  const Shard& s = shard(id);
  auto m = std::make_unique<MaterialMeta>();
  m->id = id;
  {
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    try {
      H5::Group g = s.file->openGroup("/materials/" + id);
      auto grid = dims_of(g.openDataSet("density"));
      if (grid.size() != 3) throw Error(s.path + ": material '" + id + "': density is not 3-D");
      for (int d = 0; d < 3; ++d) m->grid[d] = static_cast<int>(grid[d]);

      double lattice[9];
      H5::DataSet lat = g.openDataSet("lattice");
      if (dims_of(lat) != std::vector<hsize_t>{3, 3}) throw Error(s.path + ": material '" + id + "': lattice is not 3×3");
      lat.read(lattice, H5::PredType::NATIVE_DOUBLE);
      for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) m->lattice(r, c) = lattice[r * 3 + c];

      H5::DataSet numbers = g.openDataSet("numbers");
      const size_t n_atoms = dims_of(numbers).at(0);
      m->numbers.resize(n_atoms);
      numbers.read(m->numbers.data(), H5::PredType::NATIVE_INT32);
      H5::DataSet frac = g.openDataSet("frac_coords");
      if (dims_of(frac) != std::vector<hsize_t>{n_atoms, 3})
        throw Error(s.path + ": material '" + id + "': frac_coords shape does not match numbers");
      std::vector<double> f(n_atoms * 3);
      frac.read(f.data(), H5::PredType::NATIVE_DOUBLE);
      for (size_t a = 0; a < n_atoms; ++a) m->frac_coords.emplace_back(f[3 * a], f[3 * a + 1], f[3 * a + 2]);

      m->n_electrons = read_scalar_attr<double>(g, "n_electrons", H5::PredType::NATIVE_DOUBLE);
      m->n_electrons_grid = read_scalar_attr<double>(g, "n_electrons_grid", H5::PredType::NATIVE_DOUBLE);
      m->source = g.attrExists("source") ? read_string_attr(g, "source") : "";
    } catch (const H5::Exception& e) {
      rethrow_hdf5(s.path + " (material '" + id + "')", e);
    }
  }
  std::lock_guard<std::mutex> lock(meta_mutex_);
  auto [it, inserted] = meta_.emplace(id, std::move(m));
  return *it->second;
}

Material MaterialStore::read(const std::string& id) const {
  Material m;
  static_cast<MaterialMeta&>(m) = meta(id);
  const Shard& s = shard(id);
  m.density.resize(voxel_count(m.grid));
  {
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    try {
      s.file->openDataSet("/materials/" + id + "/density").read(m.density.data(), H5::PredType::NATIVE_FLOAT);
    } catch (const H5::Exception& e) {
      rethrow_hdf5(s.path + " (material '" + id + "')", e);
    }
  }
  validate_material(m, s.path + " (material '" + id + "')");
  return m;
}

std::shared_ptr<const MaterialStore::Block> MaterialStore::block(const std::string& id, const Grid& bi) const {
  const std::string key = id + '\n' + std::to_string(bi[0]) + ',' + std::to_string(bi[1]) + ',' + std::to_string(bi[2]);
  Cache& c = *cache_;
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.map.find(key);
    if (it != c.map.end()) {
      c.lru.splice(c.lru.begin(), c.lru, it->second.lru);
      ++c.stats.hits;
      return it->second.block;
    }
    ++c.stats.misses;
  }

  const MaterialMeta& m = meta(id);
  const Shard& s = shard(id);
  auto b = std::make_shared<Block>();
  hsize_t start[3], count[3];
  for (int d = 0; d < 3; ++d) {
    start[d] = static_cast<hsize_t>(bi[d]) * kBlockEdge;
    count[d] = std::min<hsize_t>(kBlockEdge, static_cast<hsize_t>(m.grid[d]) - start[d]);
    b->dims[d] = static_cast<int>(count[d]);
  }
  b->data.resize(voxel_count(b->dims));
  {
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    try {
      H5::DataSet ds = s.file->openDataSet("/materials/" + id + "/density");
      H5::DataSpace file_space = ds.getSpace();
      file_space.selectHyperslab(H5S_SELECT_SET, count, start);
      H5::DataSpace mem_space(3, count);
      ds.read(b->data.data(), H5::PredType::NATIVE_FLOAT, mem_space, file_space);
    } catch (const H5::Exception& e) {
      rethrow_hdf5(s.path + " (material '" + id + "')", e);
    }
  }

  const size_t bytes = b->data.size() * sizeof(float);
  std::lock_guard<std::mutex> lock(c.mutex);
  if (c.map.count(key) || bytes > c.stats.capacity) return b;
  while (c.stats.bytes + bytes > c.stats.capacity && !c.lru.empty()) {
    auto victim = c.map.find(c.lru.back());
    c.stats.bytes -= victim->second.block->data.size() * sizeof(float);
    c.map.erase(victim);
    c.lru.pop_back();
  }
  c.lru.push_front(key);
  c.map.emplace(key, Cache::Entry{b, c.lru.begin()});
  c.stats.bytes += bytes;
  return b;
}

void MaterialStore::read_patch(const std::string& id, const Grid& origin, int patch, float* out) const {
  const MaterialMeta& m = meta(id);
  if (patch < 1) throw Error("patch size must be positive");
  // Voxel index and its block along each axis, for every patch offset.
  std::vector<int> voxel[3], block_of[3];
  Grid first_block{}, n_blocks{};
  for (int d = 0; d < 3; ++d) {
    const int n = m.grid[d];
    const int o = ((origin[d] % n) + n) % n;
    voxel[d].resize(patch);
    block_of[d].resize(patch);
    for (int t = 0; t < patch; ++t) {
      voxel[d][t] = (o + t) % n;
      block_of[d][t] = voxel[d][t] / kBlockEdge;
    }
    // A wrapped axis touches every block; otherwise the span between first and last.
    const auto [lo, hi] = std::minmax_element(block_of[d].begin(), block_of[d].end());
    first_block[d] = *lo;
    n_blocks[d] = *hi - *lo + 1;
  }
  std::vector<std::shared_ptr<const Block>> blocks(static_cast<size_t>(n_blocks[0]) * n_blocks[1] * n_blocks[2]);
  auto block_at = [&](int a, int b, int c) -> const Block& {
    auto& slot = blocks[(static_cast<size_t>(a - first_block[0]) * n_blocks[1] + (b - first_block[1])) * n_blocks[2] +
                        (c - first_block[2])];
    if (!slot) slot = block(id, {a, b, c});
    return *slot;
  };
  size_t w = 0;
  for (int a = 0; a < patch; ++a)
    for (int b = 0; b < patch; ++b)
      for (int c = 0; c < patch;) {
        const Block& blk = block_at(block_of[0][a], block_of[1][b], block_of[2][c]);
        const int la = voxel[0][a] % kBlockEdge, lb = voxel[1][b] % kBlockEdge;
        const float* row = blk.data.data() + (static_cast<size_t>(la) * blk.dims[1] + lb) * blk.dims[2];
        // Copy the run of offsets that stays inside this block without wrapping.
        do {
          out[w++] = row[voxel[2][c] % kBlockEdge];
          ++c;
        } while (c < patch && block_of[2][c] == block_of[2][c - 1] && voxel[2][c] == voxel[2][c - 1] + 1);
      }
}

CacheStats MaterialStore::cache_stats() const {
  std::lock_guard<std::mutex> lock(cache_->mutex);
  return cache_->stats;
}

bool names_directory_store(const std::string& path) {
  return std::filesystem::is_directory(path) || std::filesystem::path(path).extension() != ".h5";
}

std::vector<std::string> directory_store_parts(const std::string& dir) {
  std::vector<std::string> shards, out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".h5" && e.path().filename() != "splits.h5") shards.push_back(e.path().string());
  std::sort(shards.begin(), shards.end());
  const auto splits = std::filesystem::path(dir) / "splits.h5";
  if (std::filesystem::exists(splits)) out.push_back(splits.string());
  out.insert(out.end(), shards.begin(), shards.end());
  return out;
}

std::vector<std::string> expand_store_paths(const std::vector<std::string>& patterns) {
  std::vector<std::string> out;
  for (const auto& p : patterns) {
    if (std::filesystem::is_directory(p)) {
      const auto parts = directory_store_parts(p);
      if (parts.empty()) throw Error(p + ": an empty directory, not a store");
      out.insert(out.end(), parts.begin(), parts.end());
      continue;
    }
    const auto found = expand_glob(p, "store file");
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

}  // namespace rhotrain
