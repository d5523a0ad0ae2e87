// StoreWriter (one store file, created or extended) and update_store, the all-or-nothing way to change one.
#include <H5Cpp.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "common/error.h"
#include "common/files.h"
#include "materials/hdf5_file.h"
#include "materials/store.h"

namespace rhotrain {

using namespace hdf5;

struct StoreWriter::Impl {
  std::string path;
  std::unique_ptr<H5::H5File> file;
};

StoreWriter::StoreWriter(const std::string& path, Mode mode, StorePart part) : impl_(std::make_unique<Impl>()) {
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
    write_scalar_attr<int>(root, "version", H5::PredType::NATIVE_INT, part == StorePart::whole ? 1 : 2);
    if (part != StorePart::whole) write_string_attr(root, "part", part == StorePart::shard ? "shard" : "splits");
    impl_->file->createGroup("/materials");
    impl_->file->createGroup("/splits");
  } catch (const H5::Exception& e) {
    const int saved_errno = errno;
    rethrow_hdf5_write(path, e, saved_errno);
  }
}

StoreWriter::~StoreWriter() {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  SilentCerr quiet;
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
  SilentCerr quiet;
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
    const int saved_errno = errno;
    rethrow_hdf5_write(impl_->path, e, saved_errno);
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
    const int saved_errno = errno;
    rethrow_hdf5_write(impl_->path, e, saved_errno);
  }
}

size_t StoreWriter::file_bytes() const {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  try {
    impl_->file->flush(H5F_SCOPE_LOCAL);  // the size counts what the caches still hold
    return static_cast<size_t>(impl_->file->getFileSize());
  } catch (const H5::Exception& e) {
    const int saved_errno = errno;
    rethrow_hdf5_write(impl_->path, e, saved_errno);
  }
}

void StoreWriter::close() {
  std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
  // After a close that failed (a full disk), HDF5 cannot close the file again and crashes if asked, as ~H5File would:
  // the object is given up instead, with its handle.
  H5::H5File* file = impl_->file.release();
  SilentCerr quiet;
  try {
    file->close();
    delete file;
  } catch (const H5::Exception& e) {
    const int saved_errno = errno;
    mark_unclosable_file();
    rethrow_hdf5_write(impl_->path, e, saved_errno);
  }
}

void update_store(const std::string& path, const std::function<void(StoreWriter&)>& change, StorePart part) {
  const WriterLock lock(path + ".lock", "store " + path);
  PendingFile pending(path);
  const bool exists = std::filesystem::exists(path);
  if (exists) {
    MaterialStore check({path}, 0);  // rejects foreign or newer files before copying
    std::error_code ec;
    std::filesystem::copy_file(path, pending.temp_path(), std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) throw Error(path + ": cannot copy it to change it (" + ec.message() + ")");
  }
  try {
    StoreWriter writer(pending.temp_path(), exists ? StoreWriter::Mode::append : StoreWriter::Mode::create, part);
    change(writer);
    writer.close();
  } catch (const Error& e) {  // named as the store the user gave, not as its temporary copy
    throw Error(pending.as_final(e.what()));
  }
  pending.commit();
}

}  // namespace rhotrain
