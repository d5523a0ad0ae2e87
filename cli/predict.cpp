// rhotrain predict: a trained model applied to new structures (POSCAR / CONTCAR, CHGCAR or cube files) on the file's
// grid or one chosen by --grid / --spacing, written as CHGCAR, cube or store entries, with the total charge checked
// against what the training data implies. Prediction is evaluation's own path (trainer/density_predictor).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>

#include "cli/args.h"
#include "cli/commands.h"
#include "common/elements.h"
#include "common/files.h"
#include "materials/density_file.h"
#include "materials/store.h"
#include "materials/store_import.h"
#include "materials/valence_table.h"
#include "metrics/eval_record.h"
#include "metrics/nmae.h"
#include "study/density_pictures.h"
#include "trainer/density_predictor.h"
#include "trainer/device.h"

namespace rhotrain {
namespace {

namespace fs = std::filesystem;

// What the run's training split says about a new structure: which elements the model has seen, and how many
// electrons each of their atoms holds in its densities. A run carries both in its atomic-density fit (∫f_Z per
// element); a run made before it had one reads its training store for them.
struct TrainingData {
  std::map<int, double> electrons;  // Z → electrons per atom; its keys are the elements seen

  std::optional<double> expected(const std::vector<int>& numbers) const {
    double sum = 0;
    for (int z : numbers) {
      if (!electrons.count(z)) return std::nullopt;
      sum += electrons.at(z);
    }
    return sum;
  }
};

TrainingData training_data(const TrainedModel& trained) {
  TrainingData data;
  if (trained.coding.atoms) {
    for (const auto& [z, c] : trained.coding.atoms->coefficients()) data.electrons[z] = trained.coding.atoms->electrons(z);
    return data;
  }
  try {
    const MaterialStore store(expand_store_paths(trained.run.data.stores), 0);
    std::vector<const MaterialMeta*> metas;
    for (const auto& id : store.split(trained.run.data.split_train)) metas.push_back(&store.meta(id));
    data.electrons = fit_valence_table(metas).electrons;
  } catch (const Error& e) {
    std::cerr << "predict: note: the run predates its atomic-density fit and its training data is not readable here (" << e.what()
              << "): no check of unseen elements, no expected electron count\n";
  }
  return data;
}

size_t max_atoms(const V3Tokenizer& tok) {
  size_t n = 0;
  while (tok.sequence_length(n + 1) <= tok.max_len()) ++n;
  return n;
}

std::string grid_text(const Grid& g) {
  return std::to_string(g[0]) + "×" + std::to_string(g[1]) + "×" + std::to_string(g[2]);
}

Grid parse_grid(const std::string& text) {
  Grid g{};
  if (std::sscanf(text.c_str(), "%d,%d,%d", &g[0], &g[1], &g[2]) != 3 || g[0] < 1 || g[1] < 1 || g[2] < 1)
    throw UsageError("--grid must be three positive sizes NX,NY,NZ, not '" + text + "'");
  return g;
}

// How the predictions leave: one store file for all, or one density file each (one named file, or a folder).
struct Output {
  enum Kind { store, chgcar, cube } kind;
  std::string path;
  bool folder;  // several structures, or an existing folder: <path>/<id>.CHGCAR|.cube

  std::string file_for(const std::string& id) const {
    if (!folder) return path;
    return (fs::path(path) / (id + (kind == cube ? ".cube" : ".CHGCAR"))).string();
  }
  std::string picture_for(const std::string& id) const {
    if (kind == store) return (fs::path(path).parent_path() / (id + ".png")).string();
    return (fs::path(file_for(id)).replace_extension(".png")).string();
  }
};

Output output_for(const std::string& path, const std::optional<std::string>& format, size_t structures) {
  const bool h5_name = fs::path(path).extension() == ".h5";
  const std::string kind = choice("format", format.value_or(h5_name ? "h5" : density_format_name(density_format_for_name(path))),
                                  {"chgcar", "cube", "h5"});
  if (kind == "h5") return {Output::store, path, false};
  return {kind == "cube" ? Output::cube : Output::chgcar, path, structures > 1 || fs::is_directory(path)};
}

// What the tokens can hold beside what the structure needs, for a refusal.
std::string limits_text(const MaterialMeta& m, const V3Tokenizer& tok) {
  char text[256];
  std::snprintf(text, sizeof text,
                "%zu atoms (max_len %d holds %zu), grid %s (up to %d per axis), |a| |b| |c| = %.2f %.2f %.2f Å (up to %.2f)",
                m.n_atoms(), tok.max_len(), max_atoms(tok), grid_text(m.grid).c_str(), v3::kIntValues - 1,
                m.lattice.row(0).norm(), m.lattice.row(1).norm(), m.lattice.row(2).norm(), (v3::kIntValues - 1) * v3::kLatticeStep);
  return text;
}

std::string elements_text(const std::set<int>& zs) {
  std::string out;
  for (int z : zs) out += (out.empty() ? "" : ", ") + element_symbol(z);
  return out;
}

}  // namespace

int cmd_predict(int argc, char** argv) {
  cxxopts::Options opts("rhotrain predict",
                        "Predict the density of structures (POSCAR / CONTCAR, CHGCAR, cube) with a trained run.");
  opts.add_options()
      ("run", "run directory", cxxopts::value<std::string>())
      ("step", "checkpoint step, or 'last'", cxxopts::value<std::string>()->default_value("last"))
      ("structure", "structure file(s) or glob(s); also positional", cxxopts::value<std::vector<std::string>>())
      ("species", "species of VASP 4 POSCARs, in order (e.g. Cu,O)", cxxopts::value<std::vector<std::string>>())
      ("grid", "grid NX,NY,NZ (default: the file's)", cxxopts::value<std::string>())
      ("spacing", "grid spacing in Å, each axis rounded up to 2^a·3^b·5^c", cxxopts::value<double>())
      ("mode", "maskgit:K | free_running; default: the run's eval.mode", cxxopts::value<std::string>())
      ("decode", "median | continuous | mean | argmax; default: the run's eval.decode", cxxopts::value<std::string>())
      ("stride", "overlapping patches every N voxels, averaged (0: one tile per voxel); default: the run's eval.stride",
       cxxopts::value<int>())
      ("normalize", "rescale each prediction to the electron count its training data implies")
      ("threads", "LibTorch threads (0: one per core)", cxxopts::value<int>()->default_value("0"))
      ("plot", "also draw each prediction (and the file's own density, when it has one on that grid) as PNG")
      ("plane-atoms", "the picture's plane: through these three atoms (0-based, e.g. 0,1,2)", cxxopts::value<std::string>())
      ("format", "chgcar | cube | h5 (default: h5 for a .h5 name, cube for .cube, else chgcar)", cxxopts::value<std::string>())
      ("o,out", "output file, folder (several structures: <id>.CHGCAR / <id>.cube) or store (.h5)",
       cxxopts::value<std::string>());
  opts.positional_help("[STRUCTURE...]");
  auto r = parse_command(opts, argc, argv, {"structure"});
  if (r.count("grid") && r.count("spacing")) throw UsageError("give --grid or --spacing, not both");
  std::vector<std::string> files;
  for (const auto& pattern : required<std::vector<std::string>>(r, "structure"))
    for (const auto& f : expand_glob(pattern, "structure file")) files.push_back(f);
  const Output out = output_for(required<std::string>(r, "out"), given<std::string>(r, "format"), files.size());
  const std::vector<std::string> species = r.count("species") ? r["species"].as<std::vector<std::string>>() : std::vector<std::string>{};

  TrainedModel trained(required<std::string>(r, "run"), r["step"].as<std::string>());
  EvalSettings settings = trained.run.eval;
  if (r.count("mode")) settings.mode = r["mode"].as<std::string>();
  if (r.count("decode")) settings.decode = choice("decode", r["decode"].as<std::string>(), {"median", "continuous", "mean", "argmax"});
  if (r.count("stride")) settings.stride = r["stride"].as<int>();
  if (settings.stride < 0) throw UsageError("--stride must be 0 or more");
  if (settings.mode == "teacher_forced")
    throw UsageError("--mode teacher_forced reads the true density; a new structure is predicted free_running");
  check_eval_settings(settings, trained.run.model.shape.causal);
  configure_threads(r["threads"].as<int>());
  const TrainingData training = training_data(trained);
  std::printf("predict: %s, step %lld, %s, decode %s\n", trained.checkpoint.c_str(), static_cast<long long>(trained.step),
              settings.mode.c_str(), settings.decode.c_str());

  std::vector<Material> for_store;
  std::vector<std::string> refused;
  double seconds = 0, voxels = 0;
  for (const auto& path : files) {
    try {
      Material m = read_structure_file(path, species);
      m.id = import_id(path, "");
      for (const auto& note : normalise_for_store(m)) std::cerr << "predict: note: " << path << ": " << note << "\n";
      std::string how = "the file's";
      Grid grid = m.grid;
      if (r.count("grid")) grid = parse_grid(r["grid"].as<std::string>()), how = "--grid";
      if (r.count("spacing")) grid = grid_for_spacing(m.lattice, r["spacing"].as<double>()), how = "--spacing";
      if (voxel_count(grid) == 0) throw Error(path + ": a structure without a grid: give --grid NX,NY,NZ or --spacing Å");
      const std::vector<float> truth = grid == m.grid ? m.density : std::vector<float>{};
      m.grid = grid;
      m.density.assign(voxel_count(grid), 0.0f);
      if (const std::string reason = trained.coding.tokenizer.skip_reason(m); !reason.empty())
        throw Error(path + ": " + reason + " — " + limits_text(m, trained.coding.tokenizer));
      std::set<int> unseen;
      for (int z : m.numbers)
        if (!training.electrons.empty() && !training.electrons.count(z)) unseen.insert(z);
      if (!unseen.empty() && trained.coding.residual)
        throw Error(path + ": " + elements_text(unseen) + " not in the run's atomic-density fit, which the residual target predicts over");
      if (!unseen.empty())
        std::cerr << "predict: warning: " << path << ": " << elements_text(unseen)
                  << " not in the run's training split; expect a poor prediction there\n";
      if (r.count("normalize") && !unseen.empty())
        throw Error(path + ": cannot normalize: the run's training data gives no electron count for " + elements_text(unseen));
      if (r.count("normalize") && training.electrons.empty())
        throw Error(path + ": cannot normalize: the run carries no electron counts and its training data is not readable here");

      const auto t0 = std::chrono::steady_clock::now();
      const std::vector<float> atoms = atomic_grid(m, trained.coding);
      m.density = predict_density(m, trained.coding, &trained.model, settings, atoms);
      const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      seconds += took, voxels += static_cast<double>(voxel_count(grid));

      const double charge = integrate_density(m.lattice, m.grid, m.density);
      const std::optional<double> expected = training.expected(m.numbers);
      std::printf("%s: grid %s (%s), %.2f s; ∫ρ dV = %.3f e", m.id.c_str(), grid_text(grid).c_str(), how.c_str(), took, charge);
      if (expected)
        std::printf(", expected %.3f from the training data (%+.3f %%)", *expected, 100 * (charge - *expected) / *expected);
      std::printf(" (ΣZ = %.0f)", sum_z(m.numbers));
      if (!truth.empty()) {
        const auto sums = abs_error_sums(m.density.data(), truth.data(), truth.size());
        std::printf("; NMAE against the file's density %.3f %%", 100 * sums[0] / sums[1]);
        if (!atoms.empty()) {
          const auto base = abs_error_sums(atoms.data(), truth.data(), truth.size());
          std::printf(" (atomic baseline %.3f %%, %s of it)", 100 * base[0] / base[1], ratio_text(sums[0], base[0]).c_str());
        }
      }
      std::printf("\n");
      if (r.count("normalize")) {
        const double factor = *expected / charge;
        for (float& v : m.density) v = static_cast<float>(v * factor);
      }
      compute_electron_counts(m);
      m.source = "rhotrain predict " + trained.checkpoint + " from " + path;
      if (r.count("plot"))
        std::printf("  picture %s: %s\n", out.picture_for(m.id).c_str(),
                    draw_material(m, truth, m.density, "predicted at step " + std::to_string(trained.step),
                                  r.count("plane-atoms") ? parse_plane_atoms(r["plane-atoms"].as<std::string>(), m.n_atoms())
                                                         : std::vector<int>{},
                                  out.picture_for(m.id))
                        .c_str());
      if (out.kind == Output::store) {
        for_store.push_back(std::move(m));
      } else {
        write_density_file(m, out.file_for(m.id), out.kind == Output::cube ? DensityFormat::cube : DensityFormat::chgcar);
        std::printf("  wrote %s\n", out.file_for(m.id).c_str());
      }
    } catch (const UsageError&) {
      throw;
    } catch (const Error& e) {
      std::cerr << "predict: refused " << e.what() << "\n";
      refused.push_back(path);
    }
  }
  if (!for_store.empty()) {
    update_store(out.path, [&](StoreWriter& w) {
      for (const auto& m : for_store) w.write(m, /*overwrite=*/true);
    });
    std::printf("  wrote %zu predictions into %s\n", for_store.size(), out.path.c_str());
  }
  const size_t predicted = files.size() - refused.size();
  if (predicted > 0)
    std::printf("predicted %zu of %zu structures: %.0f voxels in %.1f s, %.0f voxels/s\n", predicted, files.size(), voxels,
                seconds, voxels / seconds);
  if (predicted == 0) throw Error("no structure could be predicted (reasons above)");
  return refused.empty() ? 0 : 1;
}

}  // namespace rhotrain
