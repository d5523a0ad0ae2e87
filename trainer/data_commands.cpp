#include "trainer/data_commands.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>

#include "materials/chgcar.h"
#include "materials/cube.h"
#include "materials/error.h"
#include "materials/files.h"
#include "materials/quantiles.h"
#include "materials/splits.h"
#include "materials/store.h"
#include "materials/synthetic.h"
#include "trainer/cli.h"

namespace rhotrain {
namespace {

namespace fs = std::filesystem;

// Applies `change` to a copy of an existing store (or to a new one) and renames it into place only
// when everything succeeded, so an error never leaves a half-written store behind.
void update_store(const std::string& path, const std::function<void(StoreWriter&)>& change) {
  PendingFile pending(path);
  const bool exists = fs::exists(path);
  if (exists) {
    MaterialStore check({path}, 0);  // rejects foreign or newer files before copying
    fs::copy_file(path, pending.temp_path(), fs::copy_options::overwrite_existing);
  }
  StoreWriter writer(pending.temp_path(), exists ? StoreWriter::Mode::append : StoreWriter::Mode::create);
  change(writer);
  writer.close();
  pending.commit();
}

std::string join_grid(const Grid& g) {
  return std::to_string(g[0]) + "x" + std::to_string(g[1]) + "x" + std::to_string(g[2]);
}

void print_store_summary(const MaterialStore& store, std::ostream& os) {
  os << "store: ";
  for (size_t i = 0; i < store.paths().size(); ++i) os << (i ? ", " : "") << store.paths()[i];
  os << "\nmaterials: " << store.ids().size() << "\nsplits:";
  const auto sizes = store.split_sizes();
  if (sizes.empty()) os << " none (run `rhotrain split`)";
  for (const auto& [name, n] : sizes) os << " " << name << "=" << n;
  os << "\n";
  if (store.ids().empty()) return;

  std::vector<double> atoms, voxels, ne, ne_grid;
  for (const auto& id : store.ids()) {
    const MaterialMeta& m = store.meta(id);
    atoms.push_back(static_cast<double>(m.n_atoms()));
    voxels.push_back(static_cast<double>(voxel_count(m.grid)));
    ne.push_back(m.n_electrons);
    ne_grid.push_back(m.n_electrons_grid);
  }
  char line[160];
  std::snprintf(line, sizeof line, "%-22s %10s %10s %10s %10s %10s\n", "", "min", "p10", "p50", "p90", "max");
  os << line;
  auto row = [&](const char* name, const std::vector<double>& v) {
    const Summary s = summarize(v);
    std::snprintf(line, sizeof line, "%-22s %10.6g %10.6g %10.6g %10.6g %10.6g\n", name, s.min, s.p10, s.p50, s.p90,
                  s.max);
    os << line;
  };
  row("n_atoms", atoms);
  row("grid voxels", voxels);
  row("n_e (sum Z)", ne);
  row("n_e (integral rho dV)", ne_grid);
  const Summary s = summarize(ne);
  std::snprintf(line, sizeof line, "n_e (sum Z) max:min = %.1f\n", s.max / s.min);
  os << line;
}

// Default id of an imported file: its name without ".gz" and without its last extension.
std::string id_for(const std::string& path, const std::string& pattern) {
  if (!pattern.empty()) {
    std::smatch match;
    const std::regex re(pattern);
    if (!std::regex_search(path, match, re))
      throw Error(path + ": --id-from pattern '" + pattern + "' does not match this path");
    return match.size() > 1 ? match[1].str() : match[0].str();
  }
  fs::path p(path);
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

}  // namespace

int cmd_info(int argc, char** argv) {
  cxxopts::Options opts("rhotrain info", "Counts per split and distributions of atoms, grid size and electrons.");
  opts.add_options()("stores", "store file(s) or glob(s)", cxxopts::value<std::vector<std::string>>());
  opts.positional_help("STORE...");
  auto r = parse_command(opts, argc, argv, {"stores"});
  MaterialStore store(expand_store_paths(required<std::vector<std::string>>(r, "stores")), 0);
  print_store_summary(store, std::cout);
  return 0;
}

int cmd_import(int argc, char** argv) {
  cxxopts::Options opts("rhotrain import", "Import CHGCAR or Gaussian cube files (also .gz) into a store.");
  opts.add_options()
      ("format", "chgcar | cube", cxxopts::value<std::string>())
      ("out", "store file to create or extend", cxxopts::value<std::string>())
      ("species", "species of a VASP 4 file without a species line, in order (e.g. Cu or Ti,O)",
       cxxopts::value<std::string>()->default_value(""))
      ("id-from", "regex applied to each path; the id is its first capture group (or the whole match)",
       cxxopts::value<std::string>()->default_value(""))
      ("overwrite", "replace materials whose id is already in the store")
      ("files", "input files", cxxopts::value<std::vector<std::string>>());
  opts.positional_help("FILES...");
  auto r = parse_command(opts, argc, argv, {"files"});
  const std::string format = required<std::string>(r, "format");
  const std::string out = required<std::string>(r, "out");
  const auto files = required<std::vector<std::string>>(r, "files");
  if (format != "chgcar" && format != "cube") throw Error("--format must be chgcar or cube, not '" + format + "'");
  const auto species = split_list(r["species"].as<std::string>());
  const bool overwrite = r.count("overwrite") > 0;

  // Parse everything first: a bad file aborts the import before the store is touched.
  std::vector<Material> materials;
  std::map<std::string, std::string> file_of_id;
  for (const auto& f : files) {
    Material m = format == "chgcar" ? read_chgcar(f, species) : read_cube(f);
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
                  m.id.c_str(), m.n_atoms(), join_grid(m.grid).c_str(), m.n_electrons_grid, m.n_electrons);
    std::cout << line;
  }
  std::cout << "store " << out << " updated (" << materials.size() << " materials)\n";
  return 0;
}

int cmd_export(int argc, char** argv) {
  cxxopts::Options opts("rhotrain export", "Write one material of a store as a CHGCAR or Gaussian cube file.");
  opts.add_options()
      ("store", "store file(s) or glob(s)", cxxopts::value<std::vector<std::string>>())
      ("id", "material id", cxxopts::value<std::string>())
      ("format", "chgcar | cube", cxxopts::value<std::string>())
      ("o,output", "output file (.gz compresses)", cxxopts::value<std::string>());
  auto r = parse_command(opts, argc, argv);
  const std::string format = required<std::string>(r, "format");
  if (format != "chgcar" && format != "cube") throw Error("--format must be chgcar or cube, not '" + format + "'");
  MaterialStore store(expand_store_paths(required<std::vector<std::string>>(r, "store")), 0);
  const Material m = store.read(required<std::string>(r, "id"));
  const std::string out = required<std::string>(r, "output");
  write_text_file_atomic(out, format == "chgcar" ? format_chgcar(m) : format_cube(m));
  std::cout << "wrote " << out << " (" << m.id << ", " << format << ")\n";
  return 0;
}

int cmd_split(int argc, char** argv) {
  cxxopts::Options opts("rhotrain split", "Write seeded train / val / val_200 splits into a store.");
  opts.add_options()
      ("stores", "store file(s); splits are written into the first", cxxopts::value<std::vector<std::string>>())
      ("val-fraction", "share of materials in val", cxxopts::value<double>()->default_value("0.1"))
      ("seed", "shuffle seed", cxxopts::value<uint64_t>()->default_value("0"));
  opts.positional_help("STORE...");
  auto r = parse_command(opts, argc, argv, {"stores"});
  const auto paths = expand_store_paths(required<std::vector<std::string>>(r, "stores"));
  const Splits s = [&] {
    MaterialStore store(paths, 0);
    return make_splits(store.ids(), r["val-fraction"].as<double>(), r["seed"].as<uint64_t>());
  }();
  // Every shard loses its old copies of these splits; the first holds the new ones.
  for (size_t i = 0; i < paths.size(); ++i)
    update_store(paths[i], [&](StoreWriter& w) {
      for (const char* name : {"train", "val", "val_200"}) w.remove_split(name);
      if (i == 0) {
        w.write_split("train", s.train);
        w.write_split("val", s.val);
        w.write_split("val_200", s.val_200);
      }
    });
  std::cout << "splits written to " << paths.front() << ": train=" << s.train.size() << " val=" << s.val.size()
            << " val_200=" << s.val_200.size() << " (seed " << r["seed"].as<uint64_t>() << ")\n";
  if (s.val.size() < kFixedEvalSize)
    std::cout << "note: val has only " << s.val.size() << " materials, so val_200 holds all of them\n";
  return 0;
}

int cmd_synth(int argc, char** argv) {
  cxxopts::Options opts("rhotrain synth", "Generate the deterministic synthetic dataset (the built-in default data).");
  opts.add_options()
      ("out", "store file to write", cxxopts::value<std::string>())
      ("n-train", "training materials", cxxopts::value<size_t>()->default_value("2000"))
      ("n-val", "validation materials", cxxopts::value<size_t>()->default_value("240"))
      ("seed", "dataset seed", cxxopts::value<uint64_t>()->default_value("0"))
      ("threads", "generator threads", cxxopts::value<int>()->default_value("2"));
  auto r = parse_command(opts, argc, argv);
  SynthSpec spec;
  spec.n_train = r["n-train"].as<size_t>();
  spec.n_val = r["n-val"].as<size_t>();
  spec.seed = r["seed"].as<uint64_t>();
  spec.threads = r["threads"].as<int>();
  const std::string out = required<std::string>(r, "out");
  if (fs::path(out).has_parent_path()) fs::create_directories(fs::path(out).parent_path());

  const auto t0 = std::chrono::steady_clock::now();
  size_t next_report = 0;
  write_synthetic_store(out, spec, [&](size_t done, size_t total) {
    if (done < next_report && done != total) return;
    next_report = done + total / 10;
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "synth: %zu/%zu materials (%.1f s)\n", done, total, s);
  });
  if (spec.n_val < kFixedEvalSize)
    std::cout << "note: val has only " << spec.n_val << " materials, so val_200 holds all of them\n";
  MaterialStore store({out}, 0);
  print_store_summary(store, std::cout);
  return 0;
}

}  // namespace rhotrain
