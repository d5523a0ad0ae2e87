// rhotrain import: CHGCAR or Gaussian cube files (also .gz) into a store, each read as what it looks like unless
// --format says, parsed by --jobs threads. A single-file store is changed through a copy renamed into place; a
// directory store gains new shard files and never rewrites one, so importing at any scale costs what is new.
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli/args.h"
#include "cli/commands.h"
#include "common/error.h"
#include "common/text.h"
#include "materials/store_import.h"

namespace rhotrain {
namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream is(s);
  while (std::getline(is, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string grid_text(const Grid& g) {
  return std::to_string(g[0]) + "x" + std::to_string(g[1]) + "x" + std::to_string(g[2]);
}

}  // namespace

int cmd_import(int argc, char** argv) {
  cxxopts::Options opts("rhotrain import", "Import CHGCAR or Gaussian cube files (also .gz) into a store.");
  opts.add_options()
      ("format", "chgcar | cube (default: what each file looks like)", cxxopts::value<std::string>())
      ("o,out", "store to create or extend: a .h5 file, or a directory store (a folder of shards)",
       cxxopts::value<std::string>())
      ("species", "species of a VASP 4 file without a species line, in order (e.g. Cu or Ti,O)",
       cxxopts::value<std::string>()->default_value(""))
      ("id-from", "regex applied to each path; the id is its first capture group (or the whole match)",
       cxxopts::value<std::string>()->default_value(""))
      ("overwrite", "replace materials whose id is already in a single-file store")
      ("strict", "a file that cannot be read stops the import, and nothing is imported")
      ("jobs", "files parsed in parallel", cxxopts::value<int>()->default_value("1"))
      ("shard-bytes", "directory stores: a shard file is closed once it is this large",
       cxxopts::value<size_t>()->default_value("1073741824"))
      ("files", "input files", cxxopts::value<std::vector<std::string>>());
  opts.positional_help("FILES...");
  auto r = parse_command(opts, argc, argv, {"files"});
  ImportOptions options;
  if (r.count("format"))
    options.format = choice("format", r["format"].as<std::string>(), {"chgcar", "cube"}) == "cube" ? DensityFormat::cube
                                                                                                  : DensityFormat::chgcar;
  const std::string out = required<std::string>(r, "out");
  if (!r.count("files")) throw UsageError("no input files given: rhotrain import -o STORE FILES...");
  options.species = split_list(r["species"].as<std::string>());
  options.id_pattern = r["id-from"].as<std::string>();
  options.overwrite = r.count("overwrite") > 0;
  options.strict = r.count("strict") > 0;
  options.jobs = r["jobs"].as<int>();
  options.shard_bytes = r["shard-bytes"].as<size_t>();
  if (options.jobs < 1) throw UsageError("--jobs must be at least 1");
  if (options.shard_bytes == 0) throw UsageError("--shard-bytes must be positive");

  const auto files = r["files"].as<std::vector<std::string>>();
  const ImportReport report = import_density_files(files, out, options);
  for (const auto& note : report.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
  for (const auto& m : report.imported) {
    char line[256];
    std::snprintf(line, sizeof line, "imported %s: %zu atoms, grid %s, integral rho dV = %.4f e, sum Z = %.0f\n",
                  m.id.c_str(), m.n_atoms(), grid_text(m.grid).c_str(), m.n_electrons_grid, m.n_electrons);
    std::cout << line;
  }
  for (const auto& [file, reason] : report.bad) std::fprintf(stderr, "skipped %s\n", reason.c_str());
  std::cout << "store " << out << " updated (" << count_of(report.imported.size(), "material");
  if (!report.already_in.empty()) std::cout << "; " << report.already_in.size() << " already in it, skipped";
  if (!report.bad.empty()) std::cout << "; " << count_of(report.bad.size(), "file") << " could not be read, skipped";
  if (!report.shards.empty()) std::cout << "; " << count_of(report.shards.size(), "new shard");
  std::cout << ")\n";
  char rate[160];
  std::snprintf(rate, sizeof rate, "read %.1f MB in %.1f s: %.1f MB/s with %d parser thread(s)\n", report.bytes_read / 1e6,
                report.seconds, report.bytes_read / 1e6 / std::max(1e-9, report.seconds), options.jobs);
  std::cout << rate;
  return 0;
}

}  // namespace rhotrain
