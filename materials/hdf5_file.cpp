#include "materials/hdf5_file.h"

#include <cerrno>
#include <cstring>
#include <atomic>
#include <filesystem>
#include <iostream>

#include "common/error.h"
#include "materials/store.h"

namespace rhotrain::hdf5 {

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

[[noreturn]] void rethrow_hdf5_write(const std::string& path, const H5::Exception& e, int saved_errno) {
  if (saved_errno == ENOSPC || saved_errno == EDQUOT || saved_errno == EIO || saved_errno == EROFS)
    throw Error(path + ": cannot write (" + std::strerror(saved_errno) + ")");
  const std::string detail = e.getDetailMsg();
  throw Error(path + ": cannot write: HDF5 error in " + e.getFuncName() + (detail.empty() ? "" : " (" + detail + ")"));
}

namespace {
std::atomic<bool> unclosable_file{false};
}  // namespace

SilentCerr::SilentCerr() : saved_(std::cerr.rdbuf(nullptr)) {}
SilentCerr::~SilentCerr() {
  std::cerr.rdbuf(saved_);
  std::cerr.clear();
}

void mark_unclosable_file() { unclosable_file = true; }

}  // namespace rhotrain::hdf5

namespace rhotrain {
bool hdf5_shutdown_unsafe() { return hdf5::unclosable_file; }
}  // namespace rhotrain

namespace rhotrain::hdf5 {

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

namespace {

herr_t collect_name(hid_t, const char* name, const H5L_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  return 0;
}

}  // namespace

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
  // Attributes of the wrong type make HDF5 throw its own exceptions: turn them into the one-line errors.
  auto attribute = [&](const char* name, const char* expected, auto read) {
    try {
      return read();
    } catch (const H5::Exception&) {
      throw Error(path + ": the store's '" + name + "' attribute is not " + expected);
    }
  };
  const std::string format = attribute("format", "a string", [&] { return read_string_attr(root, "format"); });
  if (format != kStoreFormat)
    throw Error(path + ": not a rhotrain store (format attribute is '" + format + "', expected '" + kStoreFormat + "')");
  if (root.attrExists("version") && root.openAttribute("version").getTypeClass() != H5T_INTEGER)
    throw Error(path + ": the store's 'version' attribute is not an integer");
  const int version = root.attrExists("version")
                          ? attribute("version", "an integer", [&] { return read_scalar_attr<int>(root, "version", H5::PredType::NATIVE_INT); })
                          : 0;
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

}  // namespace rhotrain::hdf5
