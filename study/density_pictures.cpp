#include "study/density_pictures.h"

#include <cstdio>
#include <sstream>

#include "common/error.h"
#include "metrics/nmae.h"
#include "pictures/density_figure.h"

namespace rhotrain {

std::string draw_material(const MaterialMeta& structure, const std::vector<float>& truth, const std::vector<float>& predicted,
                          const std::string& label, const std::vector<int>& plane_atoms, const std::string& png_path) {
  const SlicePlane plane = plane_atoms.empty() ? plane_with_most_atoms(structure)
                                               : plane_through_atoms(structure, plane_atoms[0], plane_atoms[1], plane_atoms[2]);
  DensityFigure figure;
  figure.title = structure.id + (label.empty() ? "" : " — " + label);
  if (!truth.empty() && truth.size() == predicted.size()) {
    const auto sums = abs_error_sums(predicted.data(), truth.data(), truth.size());
    char nmae[48];
    std::snprintf(nmae, sizeof nmae, " — NMAE %.2f %%", 100 * sums[0] / sums[1]);
    figure.title += nmae;
  }
  figure.truth = truth, figure.predicted = predicted;
  write_density_figure(structure, plane, figure, png_path);
  return describe_plane(structure, plane);
}

std::vector<int> parse_plane_atoms(const std::string& text, size_t n_atoms) {
  std::vector<int> atoms;
  std::istringstream is(text);
  for (std::string item; std::getline(is, item, ',');) {
    try {
      size_t used = 0;
      const int a = std::stoi(item, &used);
      if (used != item.size() || a < 0 || static_cast<size_t>(a) >= n_atoms) throw std::invalid_argument(item);
      atoms.push_back(a);
    } catch (const std::logic_error&) {
      throw UsageError("--plane-atoms must be three atom indices from 0 to " + std::to_string(n_atoms - 1) + ", not '" + text + "'");
    }
  }
  if (atoms.size() != 3)
    throw UsageError("--plane-atoms must be three atom indices from 0 to " + std::to_string(n_atoms - 1) + ", not '" + text + "'");
  return atoms;
}

}  // namespace rhotrain
