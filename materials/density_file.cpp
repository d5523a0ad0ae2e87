#include "materials/density_file.h"

#include <filesystem>
#include <sstream>

#include "common/error.h"
#include "common/files.h"
#include "materials/chgcar.h"
#include "materials/cube.h"

namespace rhotrain {
namespace {

std::vector<double> numbers_of(const std::string& line) {
  std::istringstream is(line);
  std::vector<double> v;
  for (double x; is >> x;) v.push_back(x);
  return v;
}

bool is_whole(double x) { return x == static_cast<double>(static_cast<long long>(x)); }

}  // namespace

const char* density_format_name(DensityFormat f) { return f == DensityFormat::cube ? "cube" : "chgcar"; }

std::optional<DensityFormat> sniff_density_format(const std::string& path) {
  std::istringstream head(read_text_file(path, 4096));
  std::vector<std::string> lines;
  for (std::string l; lines.size() < 6 && std::getline(head, l);) lines.push_back(l);
  if (lines.size() < 6) return std::nullopt;
  std::vector<std::vector<double>> n;
  for (const auto& l : lines) n.push_back(numbers_of(l));
  if (n[1].size() == 1 && n[2].size() == 3 && n[3].size() == 3 && n[4].size() == 3) return DensityFormat::chgcar;
  bool cube = n[2].size() >= 4 && is_whole(n[2][0]);
  for (int r = 3; r < 6; ++r) cube = cube && n[static_cast<size_t>(r)].size() == 4 && is_whole(n[static_cast<size_t>(r)][0]);
  if (cube) return DensityFormat::cube;
  return std::nullopt;
}

Material read_density_file(const std::string& path, std::optional<DensityFormat> format,
                           const std::vector<std::string>& species) {
  const auto looks_like = sniff_density_format(path);
  if (format && looks_like && *format != *looks_like)
    throw Error(path + ": looks like a " + (*looks_like == DensityFormat::cube ? "Gaussian cube" : "CHGCAR") +
                " file, not " + density_format_name(*format) + " (leave --format out to read each file as it looks)");
  if (!format) format = looks_like;
  if (!format) throw Error(path + ": neither a CHGCAR nor a Gaussian cube file by its first lines (give --format)");
  return *format == DensityFormat::cube ? read_cube(path) : read_chgcar(path, species);
}

DensityFormat density_format_for_name(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string();
  if (name.size() > 3 && name.substr(name.size() - 3) == ".gz") name.resize(name.size() - 3);
  return name.size() > 5 && name.substr(name.size() - 5) == ".cube" ? DensityFormat::cube : DensityFormat::chgcar;
}

void write_density_file(const Material& m, const std::string& path, DensityFormat format) {
  if (std::filesystem::path(path).has_parent_path()) std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  write_text_file_atomic(path, format == DensityFormat::chgcar ? format_chgcar(m) : format_cube(m));
}

Material read_structure_file(const std::string& path, const std::vector<std::string>& species) {
  const auto looks_like = sniff_density_format(path);
  if (!looks_like) throw Error(path + ": not a POSCAR, CHGCAR or Gaussian cube file by its first lines");
  return *looks_like == DensityFormat::cube ? read_cube(path) : read_vasp_structure(path, species);
}

}  // namespace rhotrain
