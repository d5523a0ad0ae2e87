// rhotrain import: CHGCAR or Gaussian cube files (also .gz) into a store, each read as what it looks like unless
// --format says. Every file is parsed before the store is touched, and the store is changed through a copy renamed
// into place, so a bad file leaves it as it was.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>

#include "cli/args.h"
#include "cli/commands.h"
#include "common/error.h"
#include "common/text.h"
#include "materials/chgcar.h"
#include "materials/density_file.h"
#include "materials/store.h"

namespace rhotrain {
namespace {

// The id of an imported file: the first capture group (or the whole match) of `pattern` in its path, or by
// default its name without ".gz" and without its last extension.
std::string id_for(const std::string& path, const std::string& pattern) {
  if (!pattern.empty()) {
    std::smatch match;
    const std::regex re(pattern);
    if (!std::regex_search(path, match, re))
      throw Error(path + ": --id-from pattern '" + pattern + "' does not match this path");
    return match.size() > 1 ? match[1].str() : match[0].str();
  }
  std::filesystem::path p(path);
  if (p.extension() == ".gz") p = p.stem();
  return p.stem().string();
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream is(s);
  while (std::getline(is, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

// --species names the types of VASP 4 files; a file that names its own says so, and a different --species is
// worth a note rather than silence.
void warn_if_species_ignored(const std::string& path, const std::vector<std::string>& species) {
  if (species.empty() || sniff_density_format(path) != DensityFormat::chgcar) return;
  const auto own = chgcar_species_line(path);
  if (!own || *own == species) return;
  std::string names;
  for (const auto& s : *own) names += (names.empty() ? "" : ",") + s;
  std::fprintf(stderr, "note: %s names its species (%s); --species is for VASP 4 files and is ignored here\n", path.c_str(),
               names.c_str());
}

std::string grid_text(const Grid& g) {
  return std::to_string(g[0]) + "x" + std::to_string(g[1]) + "x" + std::to_string(g[2]);
}

}  // namespace

int cmd_import(int argc, char** argv) {
  cxxopts::Options opts("rhotrain import", "Import CHGCAR or Gaussian cube files (also .gz) into a store.");
  opts.add_options()
      ("format", "chgcar | cube (default: what each file looks like)", cxxopts::value<std::string>())
      ("o,out", "store file to create or extend", cxxopts::value<std::string>())
      ("species", "species of a VASP 4 file without a species line, in order (e.g. Cu or Ti,O)",
       cxxopts::value<std::string>()->default_value(""))
      ("id-from", "regex applied to each path; the id is its first capture group (or the whole match)",
       cxxopts::value<std::string>()->default_value(""))
      ("overwrite", "replace materials whose id is already in the store")
      ("files", "input files", cxxopts::value<std::vector<std::string>>());
  opts.positional_help("FILES...");
  auto r = parse_command(opts, argc, argv, {"files"});
  std::optional<DensityFormat> format;
  if (r.count("format"))
    format = choice("format", r["format"].as<std::string>(), {"chgcar", "cube"}) == "cube" ? DensityFormat::cube
                                                                                          : DensityFormat::chgcar;
  const std::string out = required<std::string>(r, "out");
  if (!r.count("files")) throw UsageError("no input files given: rhotrain import --out STORE FILES...");
  const auto files = r["files"].as<std::vector<std::string>>();
  const auto species = split_list(r["species"].as<std::string>());
  const bool overwrite = r.count("overwrite") > 0;

  std::vector<Material> materials;
  std::map<std::string, std::string> file_of_id;
  for (const auto& f : files) {
    Material m = read_density_file(f, format, species);
    warn_if_species_ignored(f, species);
    m.id = id_for(f, r["id-from"].as<std::string>());
    auto [it, inserted] = file_of_id.emplace(m.id, f);
    if (!inserted) throw Error(f + ": id '" + m.id + "' is also the id of " + it->second + " (use --id-from)");
    materials.push_back(std::move(m));
  }
  update_store(out, [&](StoreWriter& w) {
    for (const auto& m : materials) {
      if (w.contains(m.id) && !overwrite)
        throw Error(out + ": material id '" + m.id + "' (from " + m.source + ") already exists; use --overwrite");
      w.write(m, overwrite);
    }
  });
  for (const auto& m : materials) {
    char line[256];
    std::snprintf(line, sizeof line, "imported %s: %zu atoms, grid %s, integral rho dV = %.4f e, sum Z = %.0f\n",
                  m.id.c_str(), m.n_atoms(), grid_text(m.grid).c_str(), m.n_electrons_grid, m.n_electrons);
    std::cout << line;
  }
  std::cout << "store " << out << " updated (" << count_of(materials.size(), "material") << ")\n";
  return 0;
}

}  // namespace rhotrain
