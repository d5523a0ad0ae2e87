// What the store's reader and writer share about HDF5: one process-wide lock, errors turned into one-line
// rhotrain::Error messages naming the file, attribute and string-list helpers, and opening a checked store file.
#pragma once
#include <H5Cpp.h>

#include <iosfwd>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace rhotrain::hdf5 {

// Densities are chunked in blocks of this edge, and patches are read one block (= one chunk) at a time.
constexpr int kBlockEdge = 16;

// The HDF5 library is shared by every store in the process; every call into it holds this lock.
std::recursive_mutex& hdf5_mutex();
// HDF5 prints its error stack by default; rhotrain reports errors itself.
void silence_hdf5();
[[noreturn]] void rethrow_hdf5(const std::string& path, const H5::Exception& e);
// A failed write: the system's reason when the disk is full or failing ("No space left on device"), else HDF5's.
[[noreturn]] void rethrow_hdf5_write(const std::string& path, const H5::Exception& e, int saved_errno);

// HDF5's C++ destructors print each failed close (after a failed write) on std::cerr. While one of these lives,
// std::cerr writes nothing, so the Error rhotrain throws is the one line the user sees.
class SilentCerr {
 public:
  SilentCerr();
  ~SilentCerr();
  SilentCerr(const SilentCerr&) = delete;
  SilentCerr& operator=(const SilentCerr&) = delete;

 private:
  std::streambuf* saved_;
};

// Remembers that a file failed to close, for hdf5_shutdown_unsafe() (materials/store.h).
void mark_unclosable_file();

bool link_exists(const H5::H5Location& loc, const std::string& name);
std::string read_string_attr(const H5::H5Object& obj, const char* name);
void write_string_attr(H5::H5Object& obj, const char* name, const std::string& value);

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

// Names of the links in `group` (empty when the group is missing).
std::vector<std::string> member_names(const H5::H5File& file, const char* group);
// A 1-D dataset of strings (variable or fixed length).
std::vector<std::string> read_string_list(const H5::DataSet& ds);
std::vector<hsize_t> dims_of(const H5::DataSet& ds);

// Opens a store file and checks it is ours and of a version this build reads; throws Error naming the file.
std::unique_ptr<H5::H5File> open_store_file(const std::string& path, unsigned flags);
// Material ids name HDF5 groups: non-empty, no '/'.
void check_id(const std::string& id);

}  // namespace rhotrain::hdf5
