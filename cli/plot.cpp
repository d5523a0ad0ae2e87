// rhotrain plot: one material's density on a lattice plane as a PNG — the DFT density, a prediction of it, or both
// with their difference — read from a store or from CHGCAR / cube files.
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/args.h"
#include "cli/commands.h"
#include "materials/density_file.h"
#include "materials/store.h"
#include "study/density_pictures.h"

namespace rhotrain {
namespace {

// A material from a store (by id) or from a density file.
Material read_material(const std::string& source, const std::optional<std::string>& id) {
  if (std::filesystem::path(source).extension() == ".h5" || std::filesystem::is_directory(source)) {
    if (!id) throw UsageError(source + " is a store: give --id");
    return MaterialStore(expand_store_paths({source}), 0).read(*id);
  }
  return read_density_file(source, std::nullopt, {});
}

}  // namespace

int cmd_plot(int argc, char** argv) {
  cxxopts::Options opts("rhotrain plot", "Draw a density (DFT, predicted, or both with their difference) on a lattice plane as PNG.");
  opts.add_options()
      ("truth", "the DFT density: a store (with --id) or a CHGCAR / cube file", cxxopts::value<std::string>())
      ("prediction", "the predicted density: a store (with --id) or a CHGCAR / cube file", cxxopts::value<std::string>())
      ("id", "material id in the store(s)", cxxopts::value<std::string>())
      ("plane-atoms", "the plane through these three atoms (0-based, e.g. 0,1,2); default: the plane with the most atoms",
       cxxopts::value<std::string>())
      ("o,out", "PNG file", cxxopts::value<std::string>());
  auto r = parse_command(opts, argc, argv);
  const std::string out = required<std::string>(r, "out");
  const auto id = given<std::string>(r, "id");
  if (!r.count("truth") && !r.count("prediction")) throw UsageError("give --truth, --prediction or both");
  std::optional<Material> truth, predicted;
  if (r.count("truth")) truth = read_material(r["truth"].as<std::string>(), id);
  if (r.count("prediction")) predicted = read_material(r["prediction"].as<std::string>(), id);
  if (truth && predicted && truth->grid != predicted->grid)
    throw Error(r["prediction"].as<std::string>() + ": its grid differs from the truth's; predict on the truth's grid");
  const Material& structure = truth ? *truth : *predicted;
  const std::vector<int> plane = r.count("plane-atoms") ? parse_plane_atoms(r["plane-atoms"].as<std::string>(), structure.n_atoms())
                                                        : std::vector<int>{};
  const std::string described = draw_material(structure, truth ? truth->density : std::vector<float>{},
                                              predicted ? predicted->density : std::vector<float>{}, "", plane, out);
  std::cout << "wrote " << out << " (" << described << ")\n";
  return 0;
}

}  // namespace rhotrain
