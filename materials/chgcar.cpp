#include "materials/chgcar.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "common/elements.h"
#include "common/error.h"
#include "common/files.h"

namespace rhotrain {
namespace {

std::vector<std::string> split_words(std::string_view line) {
  std::vector<std::string> out;
  std::istringstream is{std::string(line)};
  for (std::string w; is >> w;) out.push_back(w);
  return out;
}

bool is_integer(const std::string& w) {
  if (w.empty()) return false;
  for (char c : w)
    if (c < '0' || c > '9') return false;
  return true;
}


}  // namespace

std::optional<std::vector<std::string>> chgcar_species_line(const std::string& path) {
  std::istringstream head(read_text_file(path, 4096));
  std::string line;
  for (int i = 0; i < 6 && std::getline(head, line); ++i) {
  }
  auto words = split_words(line);
  if (words.empty() || is_integer(words[0])) return std::nullopt;
  return words;
}

namespace {

// The POSCAR part every VASP structure and volumetric file starts with: comment, scale, lattice, species (VASP 5) or
// `species` (VASP 4), counts, an optional "Selective dynamics" line, the coordinate mode and one position per atom.
void read_poscar_part(TextCursor& in, const std::vector<std::string>& species, Material& m) {
  in.line("comment line");
  const double scale = in.numbers_in(in.line("scale factor"), 1, "the scale factor")[0];
  for (int r = 0; r < 3; ++r) {
    auto v = in.numbers_in(in.line("lattice vector"), 3, "a lattice vector");
    m.lattice.row(r) << v[0], v[1], v[2];
  }
  double factor = scale;
  if (scale < 0) {  // VASP: a negative scale is the target cell volume
    const double v0 = cell_volume(m.lattice);
    if (!(v0 > 0)) in.fail("cell volume is zero or negative");
    factor = std::cbrt(-scale / v0);
  } else if (scale == 0) {
    in.fail("scale factor is zero");
  }
  m.lattice *= factor;

  auto words = split_words(in.line("species or counts line"));
  std::vector<std::string> names;
  if (!words.empty() && is_integer(words[0])) {  // VASP 4: no species line
    if (species.empty())
      in.fail("VASP 4 layout without a species line; pass the species in order with --species (e.g. --species Cu)");
    names = species;
  } else {
    names = words;
    words = split_words(in.line("atom counts"));
  }
  if (names.size() != words.size())
    in.fail("species (" + std::to_string(names.size()) + ") and counts (" + std::to_string(words.size()) +
            ") do not match");
  for (size_t t = 0; t < names.size(); ++t) {
    const int z = atomic_number(names[t]);
    if (z == 0) in.fail("unknown element symbol '" + names[t] + "'");
    if (!is_integer(words[t])) in.fail("atom count '" + words[t] + "' is not an integer");
    // Each atom needs a position line of at least six bytes ("0 0 0\n"): a larger count is a corrupt header.
    if (words[t].size() > 9 || m.numbers.size() + std::stoul(words[t]) > in.remaining() / 6)
      in.fail("atom count " + words[t] + " is more than the rest of the file can hold");
    m.numbers.insert(m.numbers.end(), std::stoul(words[t]), z);
  }
  if (m.numbers.empty()) in.fail("no atoms");

  std::string_view mode = in.line("coordinate mode");
  if (!mode.empty() && (mode[0] == 'S' || mode[0] == 's')) mode = in.line("coordinate mode");
  while (!mode.empty() && mode.front() == ' ') mode.remove_prefix(1);
  const bool cartesian = !mode.empty() && (mode[0] == 'C' || mode[0] == 'c' || mode[0] == 'K' || mode[0] == 'k');
  const Eigen::Matrix3d inv = m.lattice.inverse();
  for (size_t a = 0; a < m.numbers.size(); ++a) {
    auto v = in.numbers_in(in.line("atom position"), 3, "an atom position");
    Eigen::Vector3d p(v[0], v[1], v[2]);
    if (cartesian) p = (p.transpose() * factor * inv).transpose();  // Cartesian positions are scaled like the lattice
    m.frac_coords.push_back(p);
  }
  if (!(cell_volume(m.lattice) > 1e-9)) in.fail("cell volume is zero or negative");
}

// After the positions: the grid line and ρ·V with x fastest.
void read_volumetric_part(TextCursor& in, std::string_view grid_line, Material& m) {
  auto g = in.numbers_in(grid_line, 3, "the grid dimensions");
  for (int d = 0; d < 3; ++d)
    if (!(g[d] >= 1) || g[d] != std::floor(g[d]) || g[d] > 1e7) in.fail("grid dimensions must be positive integers");
  in.check_grid_fits(g[0], g[1], g[2]);
  for (int d = 0; d < 3; ++d) m.grid[d] = static_cast<int>(g[d]);
  std::vector<float> file_order(voxel_count(m.grid));
  in.numbers(file_order.size(), file_order.data(), 1.0 / cell_volume(m.lattice), "density");
  const int nx = m.grid[0], ny = m.grid[1], nz = m.grid[2];
  m.density.resize(file_order.size());
  for (int k = 0; k < nz; ++k)
    for (int j = 0; j < ny; ++j)
      for (int i = 0; i < nx; ++i)
        m.density[(static_cast<size_t>(i) * ny + j) * nz + k] = file_order[i + static_cast<size_t>(nx) * (j + static_cast<size_t>(ny) * k)];
}

std::string_view next_nonblank_line(TextCursor& in, const char* what) {
  std::string_view line = in.line(what);
  while (split_words(line).empty()) line = in.line(what);
  return line;
}

}  // namespace

Material read_chgcar(const std::string& path, const std::vector<std::string>& species) {
  TextCursor in(read_text_file(path), path);
  Material m;
  m.source = path;
  read_poscar_part(in, species, m);
  read_volumetric_part(in, next_nonblank_line(in, "grid dimensions"), m);
  validate_material(m, path);
  compute_electron_counts(m);
  return m;
}

Material read_vasp_structure(const std::string& path, const std::vector<std::string>& species) {
  TextCursor in(read_text_file(path), path);
  Material m;
  m.source = path;
  read_poscar_part(in, species, m);
  // A CHGCAR goes on with a blank line and three grid sizes; a POSCAR ends, or goes on with velocities (reals).
  std::string_view line;
  while (!in.at_end() && split_words(line).empty()) line = in.line("grid dimensions");
  const auto words = split_words(line);
  if (words.size() >= 3 && is_integer(words[0]) && is_integer(words[1]) && is_integer(words[2])) {
    read_volumetric_part(in, line, m);
    validate_material(m, path);
  } else {
    validate_structure(m, path);
  }
  compute_electron_counts(m);
  return m;
}

std::string format_chgcar(const Material& m) {
  std::string out;
  char buf[128];
  out += m.id + "\n   1.00000000000000\n";
  for (int r = 0; r < 3; ++r) {
    std::snprintf(buf, sizeof buf, " %21.15f %21.15f %21.15f\n", m.lattice(r, 0), m.lattice(r, 1), m.lattice(r, 2));
    out += buf;
  }
  // Runs of equal Z keep the atom order exactly (POSCAR allows a species to appear twice).
  std::string names, counts;
  for (size_t a = 0; a < m.numbers.size();) {
    size_t b = a;
    while (b < m.numbers.size() && m.numbers[b] == m.numbers[a]) ++b;
    std::snprintf(buf, sizeof buf, " %4s", element_symbol(m.numbers[a]).c_str());
    names += buf;
    std::snprintf(buf, sizeof buf, " %4zu", b - a);
    counts += buf;
    a = b;
  }
  out += names + "\n" + counts + "\nDirect\n";
  for (const auto& f : m.frac_coords) {
    std::snprintf(buf, sizeof buf, " %19.15f %19.15f %19.15f\n", f.x(), f.y(), f.z());
    out += buf;
  }
  std::snprintf(buf, sizeof buf, "\n %5d %5d %5d\n", m.grid[0], m.grid[1], m.grid[2]);
  out += buf;
  const double volume = cell_volume(m.lattice);
  const int nx = m.grid[0], ny = m.grid[1], nz = m.grid[2];
  size_t col = 0;
  for (int k = 0; k < nz; ++k)
    for (int j = 0; j < ny; ++j)
      for (int i = 0; i < nx; ++i) {
        std::snprintf(buf, sizeof buf, " %.10E", m.density[(static_cast<size_t>(i) * ny + j) * nz + k] * volume);
        out += buf;
        if (++col % 5 == 0) out += '\n';
      }
  if (col % 5 != 0) out += '\n';
  return out;
}

}  // namespace rhotrain
