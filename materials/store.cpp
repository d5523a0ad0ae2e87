#include "materials/store.h"

#include <H5Cpp.h>
#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <list>

#include "materials/error.h"

namespace rhotrain {
namespace {

// Patches are read in blocks of this edge; the writer chunks densities the same way so one block is one chunk.
constexpr int kBlockEdge = 16;

// The HDF5 library is shared by all stores and readers in the process; serialise every call into it.
std::recursive_mutex& hdf5_mutex() {
  static std::recursive_mutex m;
  return m;
}

void silence_hdf5() {
  static std::once_flag once;
  std::call_once(once, [] {
    H5::Exception::dontPrint();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  });
}

[[noreturn]] void rethrow_hdf5(const std::string& path, const H5::Exception& e) {
  std::string detail = e.getDetailMsg();
  throw Error(path + ": HDF5 error in " + e.getFuncName() + (detail.empty() ? "" : " (" + detail + ")") +
              " — file corrupt or not a complete rhotrain store?");
}

bool link_exists(const H5::H5Location& loc, const std::string& name) {
  return H5Lexists(loc.getId(), name.c_str(), H5P_DEFAULT) > 0;
}

std::string read_string_attr(const H5::H5Object& obj, const char* name) {
  H5::Attribute a = obj.openAttribute(name);
  std::string s;
  a.read(a.getStrType(), s);
  return s;
}

void write_string_attr(H5::H5Object& obj, const char* name, const std::string& value) {
  H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
  if (obj.attrExists(name)) obj.removeAttr(name);
  obj.createAttribute(name, t, H5::DataSpace(H5S_SCALAR)).write(t, value);
}

template <typename T>
T read_scalar_attr(const H5::H5Object& obj, const char* name, const H5::PredType& type) {
  T v{};
  obj.openAttribute(name).read(type, &v);
  return v;
}

template <typename T>
void write_scalar_attr(H5::H5Object& obj, const char* name, const H5::PredType& type, T value) {
  if (obj.attrExists(name)) obj.removeAttr(name);
  obj.createAttribute(name, type, H5::DataSpace(H5S_SCALAR)).write(type, &value);
}

herr_t collect_name(hid_t, const char* name, const H5L_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  return 0;
}

std::vector<std::string> member_names(const H5::H5File& file, const char* group) {
  std::vector<std::string> names;
  if (!link_exists(file, group)) return names;
  H5::Group g = file.openGroup(group);
  H5Literate(g.getId(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_name, &names);
  return names;
}

std::vector<std::string> read_string_list(const H5::DataSet& ds) {
  H5::DataSpace space = ds.getSpace();
  hsize_t n = 0;
  if (space.getSimpleExtentNdims() != 1) throw H5::DataSetIException("read split", "split is not a 1-D list");
  space.getSimpleExtentDims(&n);
  std::vector<std::string> out;
  out.reserve(n);
  if (n == 0) return out;
  H5::StrType type = ds.getStrType();
  if (type.isVariableStr()) {
    std::vector<char*> buf(n);
    ds.read(buf.data(), type);
    for (char* s : buf) out.emplace_back(s ? s : "");
    H5Dvlen_reclaim(type.getId(), space.getId(), H5P_DEFAULT, buf.data());
  } else {
    const size_t len = type.getSize();
    std::vector<char> buf(n * len);
    ds.read(buf.data(), type);
    for (hsize_t i = 0; i < n; ++i) {
      const char* s = buf.data() + i * len;
      out.emplace_back(s, strnlen(s, len));
    }
  }
  return out;
}

// Opens a store file and checks it is ours and of a version this build reads.
std::unique_ptr<H5::H5File> open_store_file(const std::string& path, unsigned flags) {
  if (!std::filesystem::exists(path)) throw Error(path + ": no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw Error(path + ": not an HDF5 file (corrupt or wrong format)");
  std::unique_ptr<H5::H5File> file;
  try {
    file = std::make_unique<H5::H5File>(path, flags);
  } catch (const H5::Exception&) {
    throw Error(path + ": cannot open HDF5 file (corrupt or truncated?)");
  }
  H5::Group root = file->openGroup("/");
  if (!root.attrExists("format")) throw Error(path + ": not a rhotrain store (no 'format' attribute)");
  const std::string format = read_string_attr(root, "format");
  if (format != kStoreFormat)
    throw Error(path + ": not a rhotrain store (format attribute is '" + format + "', expected '" + kStoreFormat + "')");
  const int version = root.attrExists("version") ? read_scalar_attr<int>(root, "version", H5::PredType::NATIVE_INT) : 0;
  if (version > kStoreVersion)
    throw Error(path + ": store version " + std::to_string(version) + " is newer than this rhotrain supports (" +
                std::to_string(kStoreVersion) + ")");
  if (version < 1) throw Error(path + ": store has an invalid version " + std::to_string(version));
  return file;
}

void check_id(const std::string& id) {
  if (id.empty() || id == "." || id == ".." || id.find('/') != std::string::npos)
    throw Error("invalid material id '" + id + "' (must be non-empty and contain no '/')");
}

std::vector<hsize_t> dims_of(const H5::DataSet& ds) {
  H5::DataSpace s = ds.getSpace();
  std::vector<hsize_t> d(static_cast<size_t>(s.getSimpleExtentNdims()));
  s.getSimpleExtentDims(d.data());
  return d;
}

}  // namespace

// ---------------------------------------------------------------- StoreWriter

struct StoreWriter::Impl {
  std::string path;
  std::unique_ptr<H5::H5File> file;
};

StoreWriter::StoreWriter(const std::string& path, Mode mode) : impl_(std::make_unique<Impl>()) {
  silence_hdf5();
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  impl_->path = path;
  if (mode == Mode::append) {
    impl_->file = open_store_file(path, H5F_ACC_RDWR);
    return;
  }
  try {
    impl_->file = std::make_unique<H5::H5File>(path, H5F_ACC_TRUNC);
    H5::Group root = impl_->file->openGroup("/");
    write_string_attr(root, "format", kStoreFormat);
    write_scalar_attr<int>(root, "version", H5::PredType::NATIVE_INT, kStoreVersion);
    impl_->file->createGroup("/materials");
    impl_->file->createGroup("/splits");
  } catch (const H5::Exception& e) {
    rethrow_hdf5(path, e);
  }
}

StoreWriter::~StoreWriter() {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  impl_.reset();
}

bool StoreWriter::contains(const std::string& id) const {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  return link_exists(*impl_->file, "/materials") && link_exists(*impl_->file, "/materials/" + id);
}

std::vector<std::string> StoreWriter::ids() const {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  return member_names(*impl_->file, "/materials");
}

void StoreWriter::write(const Material& m, bool overwrite) {
  check_id(m.id);
  validate_material(m, m.source.empty() ? m.id : m.source);
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  H5::H5File& f = *impl_->file;
  const std::string name = "/materials/" + m.id;
  try {
    if (!link_exists(f, "/materials")) f.createGroup("/materials");
    if (link_exists(f, name)) {
      if (!overwrite)
        throw Error(impl_->path + ": material id '" + m.id + "' already exists (use --overwrite to replace it)");
      H5Ldelete(f.getId(), name.c_str(), H5P_DEFAULT);
    }
    H5::Group g = f.createGroup(name);

    const hsize_t grid[3] = {hsize_t(m.grid[0]), hsize_t(m.grid[1]), hsize_t(m.grid[2])};
    hsize_t chunk[3];
    for (int d = 0; d < 3; ++d) chunk[d] = std::min<hsize_t>(grid[d], kBlockEdge);
    H5::DSetCreatPropList plist;
    plist.setChunk(3, chunk);
    plist.setShuffle();
    plist.setDeflate(4);
    H5::DataSet dens = g.createDataSet("density", H5::PredType::NATIVE_FLOAT, H5::DataSpace(3, grid), plist);
    dens.write(m.density.data(), H5::PredType::NATIVE_FLOAT);
    write_string_attr(dens, "units", "e/A^3");

    double lattice[9];
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) lattice[r * 3 + c] = m.lattice(r, c);
    const hsize_t lat_dims[2] = {3, 3};
    g.createDataSet("lattice", H5::PredType::NATIVE_DOUBLE, H5::DataSpace(2, lat_dims))
        .write(lattice, H5::PredType::NATIVE_DOUBLE);

    const hsize_t n_atoms = m.numbers.size();
    g.createDataSet("numbers", H5::PredType::NATIVE_INT32, H5::DataSpace(1, &n_atoms))
        .write(m.numbers.data(), H5::PredType::NATIVE_INT32);
    std::vector<double> frac;
    for (const auto& p : m.frac_coords) frac.insert(frac.end(), {p.x(), p.y(), p.z()});
    const hsize_t frac_dims[2] = {n_atoms, 3};
    g.createDataSet("frac_coords", H5::PredType::NATIVE_DOUBLE, H5::DataSpace(2, frac_dims))
        .write(frac.data(), H5::PredType::NATIVE_DOUBLE);

    write_scalar_attr<double>(g, "n_electrons", H5::PredType::NATIVE_DOUBLE, m.n_electrons);
    write_scalar_attr<double>(g, "n_electrons_grid", H5::PredType::NATIVE_DOUBLE, m.n_electrons_grid);
    write_string_attr(g, "source", m.source);
  } catch (const H5::Exception& e) {
    rethrow_hdf5(impl_->path, e);
  }
}

void StoreWriter::remove_split(const std::string& name) {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  const std::string link = "/splits/" + name;
  if (link_exists(*impl_->file, "/splits") && link_exists(*impl_->file, link))
    H5Ldelete(impl_->file->getId(), link.c_str(), H5P_DEFAULT);
}

void StoreWriter::write_split(const std::string& name, const std::vector<std::string>& ids) {
  if (ids.empty()) throw Error(impl_->path + ": refusing to write an empty split '" + name + "'");
  remove_split(name);
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  try {
    if (!link_exists(*impl_->file, "/splits")) impl_->file->createGroup("/splits");
    std::vector<const char*> ptrs;
    for (const auto& id : ids) ptrs.push_back(id.c_str());
    const hsize_t n = ids.size();
    H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
    impl_->file->createDataSet("/splits/" + name, t, H5::DataSpace(1, &n)).write(ptrs.data(), t);
  } catch (const H5::Exception& e) {
    rethrow_hdf5(impl_->path, e);
  }
}

void StoreWriter::close() {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  try {
    impl_->file->close();
  } catch (const H5::Exception& e) {
    rethrow_hdf5(impl_->path, e);
  }
}

// ---------------------------------------------------------------- MaterialStore

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
    throw Error(description() + ": no material with id '" + id + "'");
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

std::vector<std::string> expand_store_paths(const std::vector<std::string>& patterns) {
  std::vector<std::string> out;
  for (const auto& p : patterns) {
    if (p.find_first_of("*?[") == std::string::npos) {
      out.push_back(p);
      continue;
    }
    glob_t g{};
    const int rc = ::glob(p.c_str(), 0, nullptr, &g);
    if (rc == GLOB_NOMATCH) {
      globfree(&g);
      throw Error(p + ": no store file matches this pattern");
    }
    std::vector<std::string> found(g.gl_pathv, g.gl_pathv + g.gl_pathc);
    globfree(&g);
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

}  // namespace rhotrain
