// Import of density files into a store, at any scale. Files are parsed in parallel and written in their given order.
// A single-file store changes all at once: a copy is renamed into place. A directory store gains new shard files of
// bounded size, each written under a temporary name and renamed, and existing files are never rewritten.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "materials/density_file.h"
#include "materials/material.h"

namespace rhotrain {

struct ImportOptions {
  std::optional<DensityFormat> format;  // default: what each file looks like
  std::vector<std::string> species;     // of VASP 4 files
  std::string id_pattern;               // regex: the id is its first capture group (or the whole match) in the path
  bool overwrite = false;               // replace ids already in a single-file store
  bool strict = false;                  // one bad file and nothing is imported
  int jobs = 1;                         // parser threads
  size_t shard_bytes = size_t{1} << 30; // directory stores: a shard is closed once its file is this large
};

struct ImportReport {
  std::vector<MaterialMeta> imported;                         // in file order
  std::vector<std::pair<std::string, std::string>> bad;       // file, reason
  std::vector<std::string> already_in;                        // ids a directory store already holds: skipped
  std::vector<std::string> notes;                             // e.g. a --species that a file's own line overrides
  std::vector<std::string> shards;                            // shard files written (directory stores)
  double seconds = 0, bytes_read = 0;
};

// The id of an imported file: the first capture group (or the whole match) of `pattern` in its path, or by
// default its name without ".gz" and without its last extension.
std::string import_id(const std::string& path, const std::string& pattern);

// Imports `files` into `store` (a directory store when names_directory_store says so). Bad files are reported and
// the rest imported, unless `strict`, where a bad file leaves the store as it was and throws. Throws when no file
// could be imported at all.
ImportReport import_density_files(const std::vector<std::string>& files, const std::string& store, const ImportOptions& options);

}  // namespace rhotrain
