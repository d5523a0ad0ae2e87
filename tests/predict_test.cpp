// Using a trained model: `rhotrain predict` from POSCAR / CHGCAR to CHGCAR, cube and store, its round trip against
// `eval`, its refusals, the files read back by ASE and pymatgen, `eval --write-predictions` and `rhotrain plot`.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "materials/chgcar.h"
#include "materials/store.h"
#include "materials/valence_table.h"
#include "metrics/nmae.h"
#include "tests/test_support.h"

namespace rhotrain {
namespace {

namespace fs = std::filesystem;
using test::run_rhotrain;
using test::TempDir;

// One tiny masked run, trained once for the suite, evaluated in the loop on val_200 at its last step.
class Predict : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    ASSERT_EQ(run_rhotrain("synth --out " + store() + " --n-train 16 --n-val 4 --seed 8").exit_code, 0);
    test::write_file(dir_->file("tiny.yaml"),
                     "data:\n  store: [" + store() + "]\n  patch: 4\n  codec_bins: 32\n  max_len: 600\n"
                     "  patches_per_mat: 2\nmodel:\n  preset: tiny\n  d_model: 32\n  layers: 1\n  heads: 2\n  ffn: 64\n"
                     "train:\n  steps: 4\n  batch_size: 4\n  warmup: 2\n  threads: 1\n"
                     "eval:\n  sets: [val_200]\ncheckpoint:\n  every: 4\n");
    const auto r = run_rhotrain("train --config " + dir_->file("tiny.yaml") + " --run-dir " + run());
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // Evaluated on its training split: with 16 training materials, val_200 holds elements its atomic-density fit never saw.
    const auto residual = run_rhotrain("train --config " + dir_->file("tiny.yaml") + " --set data.target=residual --set eval.sets=[train] --run-dir " +
                                       residual_run());
    ASSERT_EQ(residual.exit_code, 0) << residual.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string store() { return dir_->file("s.h5"); }
  static std::string run() { return dir_->file("run"); }
  static std::string residual_run() { return dir_->file("residual"); }
  static std::string val_id() { return MaterialStore({store()}, 0).split("val_200").front(); }
  static std::string train_id() { return MaterialStore({store()}, 0).split("train").front(); }
  static TempDir* dir_;
};
TempDir* Predict::dir_ = nullptr;

double nmae_of(const std::vector<float>& predicted, const std::vector<float>& truth) {
  const auto s = abs_error_sums(predicted.data(), truth.data(), truth.size());
  return s[0] / s[1];
}

// The POSCAR part of a CHGCAR: everything before the grid line.
std::string poscar_of(const std::string& chgcar) {
  const auto blank = chgcar.find("\n\n");
  return chgcar.substr(0, blank + 1);
}

// predict goes through the evaluator's own path, for either target: the residual one decodes over the atomic baseline.
TEST_F(Predict, AResidualRunPredictsWhatEvalScoresAndTheChargeTheBaselineImplies) {
  TempDir out;
  const std::string id = train_id();
  const auto record = nlohmann::json::parse(test::read_file(residual_run() + "/eval/train/step-4.json"));
  double eval_nmae = -1, atomic = -1;
  for (const auto& m : record["materials"])
    if (m["id"] == id) eval_nmae = m["nmae"].get<double>(), atomic = m["atomic_baseline_nmae"].get<double>();
  ASSERT_GE(eval_nmae, 0);
  ASSERT_EQ(run_rhotrain("export --store " + store() + " --id " + id + " -o " + out.file(id + ".CHGCAR")).exit_code, 0);
  const auto p = run_rhotrain("predict --run " + residual_run() + " " + out.file(id + ".CHGCAR") + " -o " + out.file("pred.h5"));
  ASSERT_EQ(p.exit_code, 0) << p.err;
  char baseline[64];
  std::snprintf(baseline, sizeof baseline, "(atomic baseline %.3f %%", 100 * atomic);
  EXPECT_NE(p.out.find(baseline), std::string::npos) << p.out;
  const Material truth = MaterialStore({store()}, 0).read(id);
  const Material predicted = MaterialStore({out.file("pred.h5")}, 0).read(id);
  EXPECT_EQ(nmae_of(predicted.density, truth.density), eval_nmae);
  // Its residuals carry no net charge: ∫ρ̂ dV is the count the atomic-density fit implies, printed as a 0.000 % miss.
  EXPECT_TRUE(p.out.find("(+0.000 %)") != std::string::npos || p.out.find("(-0.000 %)") != std::string::npos) << p.out;
}

TEST_F(Predict, AStoredMaterialPredictedAtItsOwnGridScoresExactlyWhatEvalReports) {
  TempDir out;
  const std::string id = val_id();
  const auto record = nlohmann::json::parse(test::read_file(run() + "/eval/val_200/step-4.json"));
  double eval_nmae = -1;
  for (const auto& m : record["materials"])
    if (m["id"] == id) eval_nmae = m["nmae"].get<double>();
  ASSERT_GE(eval_nmae, 0);

  ASSERT_EQ(run_rhotrain("export --store " + store() + " --id " + id + " -o " + out.file(id + ".CHGCAR")).exit_code, 0);
  const auto p = run_rhotrain("predict --run " + run() + " --structure " + out.file(id + ".CHGCAR") + " -o " + out.file("pred.h5"));
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_NE(p.out.find("(the file's)"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("NMAE against the file's density"), std::string::npos) << p.out;
  const Material truth = MaterialStore({store()}, 0).read(id);
  const Material predicted = MaterialStore({out.file("pred.h5")}, 0).read(id);
  ASSERT_EQ(predicted.grid, truth.grid);
  EXPECT_EQ(nmae_of(predicted.density, truth.density), eval_nmae);

  // eval --write-predictions writes the same grid, and a copy of its record beside it.
  const auto e = run_rhotrain("eval --run " + run() + " --write-predictions " + out.file("preds"));
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_TRUE(fs::exists(out.file("preds/step-4.json")));
  EXPECT_EQ(MaterialStore({out.file("preds/" + id + ".h5")}, 0).read(id).density, predicted.density);
  EXPECT_EQ(MaterialStore(expand_store_paths({out.file("preds/*.h5")}), 0).ids().size(), 4u);

  // Another decoder's record is named for it and leaves the in-loop record alone.
  const std::string in_loop = test::read_file(run() + "/eval/val_200/step-4.json");
  ASSERT_EQ(run_rhotrain("eval --run " + run() + " --decode mean").exit_code, 0);
  EXPECT_TRUE(fs::exists(run() + "/eval/val_200/step-4.run-mode.mean.json"));
  EXPECT_EQ(test::read_file(run() + "/eval/val_200/step-4.json"), in_loop);
}

TEST_F(Predict, APoscarBecomesACHGCARThatImportsAndThatAseAndPymatgenRead) {
  TempDir out;
  const std::string id = train_id();  // its elements are in the training split, so the expected charge is known
  ASSERT_EQ(run_rhotrain("export --store " + store() + " --id " + id + " -o " + out.file("full.CHGCAR")).exit_code, 0);
  test::write_file(out.file("POSCAR"), poscar_of(test::read_file(out.file("full.CHGCAR"))));
  const Material structure = read_vasp_structure(out.file("POSCAR"));
  ASSERT_EQ(voxel_count(structure.grid), 0u);

  // Without a grid a POSCAR cannot be predicted; --spacing chooses one as a DFT code would.
  const auto none = run_rhotrain("predict --run " + run() + " --structure " + out.file("POSCAR") + " -o " + out.file("p.CHGCAR"));
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.err.find("give --grid NX,NY,NZ or --spacing"), std::string::npos) << none.err;
  const auto p = run_rhotrain("predict --run " + run() + " --structure " + out.file("POSCAR") + " --spacing 0.4 --normalize -o " +
                              out.file("p.CHGCAR"));
  ASSERT_EQ(p.exit_code, 0) << p.err;
  const Grid expected = grid_for_spacing(structure.lattice, 0.4);
  const std::string grid_text = std::to_string(expected[0]) + "×" + std::to_string(expected[1]) + "×" + std::to_string(expected[2]);
  EXPECT_NE(p.out.find("grid " + grid_text + " (--spacing)"), std::string::npos) << p.out;

  // It imports, on the chosen grid, and --normalize made it hold the electrons the training data implies.
  ASSERT_EQ(run_rhotrain("import -o " + out.file("back.h5") + " " + out.file("p.CHGCAR")).exit_code, 0);
  const Material back = MaterialStore({out.file("back.h5")}, 0).read("p");
  EXPECT_EQ(back.grid, expected);
  EXPECT_EQ(back.numbers, structure.numbers);
  const MaterialStore s({store()}, 0);
  std::vector<const MaterialMeta*> train;
  for (const auto& tid : s.split("train")) train.push_back(&s.meta(tid));
  const auto electrons = fit_valence_table(train).expected(structure.numbers);
  ASSERT_TRUE(electrons.has_value());
  EXPECT_NEAR(back.n_electrons_grid, *electrons, 1e-4 * *electrons);
  EXPECT_NEAR(*electrons, s.meta(id).n_electrons_grid, 1e-3 * *electrons);

  // ASE and pymatgen read the same grid, atoms and charge.
  const auto py = test::run_shell("/usr/bin/python3 " RHOTRAIN_SOURCE_DIR "/tests/tools/read_density.py " + out.file("p.CHGCAR"));
  ASSERT_EQ(py.exit_code, 0) << py.err;
  const auto j = nlohmann::json::parse(py.out);
  for (const char* reader : {"ase", "pymatgen"}) {
    EXPECT_EQ(j[reader]["grid"], nlohmann::json({expected[0], expected[1], expected[2]})) << reader;
    EXPECT_EQ(j[reader]["atoms"].get<size_t>(), structure.n_atoms()) << reader;
    EXPECT_NEAR(j[reader]["charge"].get<double>(), back.n_electrons_grid, 1e-6 * back.n_electrons_grid) << reader;
  }

  // A VASP 4 POSCAR (no species line) needs --species.
  std::string vasp4 = test::read_file(out.file("POSCAR"));
  const size_t line5 = [&] {
    size_t pos = 0;
    for (int i = 0; i < 5; ++i) pos = vasp4.find('\n', pos) + 1;
    return pos;
  }();
  const std::string species_line = vasp4.substr(line5, vasp4.find('\n', line5) - line5 + 1);
  vasp4.erase(line5, species_line.size());
  test::write_file(out.file("POSCAR4"), vasp4);
  const auto no_species = run_rhotrain("predict --run " + run() + " --structure " + out.file("POSCAR4") + " --spacing 0.4 -o " +
                                       out.file("v4.cube"));
  EXPECT_NE(no_species.err.find("--species"), std::string::npos) << no_species.err;
  std::istringstream words(species_line);
  std::string list;
  for (std::string w; words >> w;) list += (list.empty() ? "" : ",") + w;
  const auto with_species = run_rhotrain("predict --run " + run() + " --structure " + out.file("POSCAR4") + " --species " + list +
                                         " --spacing 0.4 -o " + out.file("v4.cube"));
  ASSERT_EQ(with_species.exit_code, 0) << with_species.err;
  ASSERT_EQ(run_rhotrain("import -o " + out.file("cube.h5") + " " + out.file("v4.cube")).exit_code, 0);
  EXPECT_EQ(MaterialStore({out.file("cube.h5")}, 0).read("v4").grid, expected);
}

TEST_F(Predict, EachRefusalIsOneLineAndTheRestOfTheBatchIsPredicted) {
  TempDir out;
  const MaterialStore s({store()}, 0);
  const std::string id = val_id();
  ASSERT_EQ(run_rhotrain("export --store " + store() + " --id " + id + " -o " + out.file("in/good.CHGCAR")).exit_code, 0);
  // Too many atoms for max_len 600: the structure repeated until its sequence cannot fit.
  Material big = s.read(id);
  big.id = "big";
  const auto base_numbers = big.numbers;
  const auto base_coords = big.frac_coords;
  while (big.numbers.size() < 80)
    for (size_t a = 0; a < base_numbers.size(); ++a) {
      big.numbers.push_back(base_numbers[a]);
      big.frac_coords.push_back((base_coords[a] + Eigen::Vector3d(0.013, 0.021, 0.034) * static_cast<double>(big.numbers.size())).unaryExpr(
          [](double x) { return x - std::floor(x); }));
    }
  compute_electron_counts(big);
  test::write_file(out.file("in/big.CHGCAR"), format_chgcar(big));
  test::write_file(out.file("in/broken.CHGCAR"), "not a structure\n");

  const auto r = run_rhotrain("predict --run " + run() + " --structure '" + out.file("in/*.CHGCAR") + "' -o " + out.file("pred"));
  EXPECT_EQ(r.exit_code, 1) << r.err;  // something was refused
  EXPECT_NE(r.err.find("refused " + out.file("in/big.CHGCAR") + ": "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("max_len"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("refused " + out.file("in/broken.CHGCAR")), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("predicted 1 of 3 structures"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(out.file("pred/good.CHGCAR")));
  EXPECT_FALSE(fs::exists(out.file("pred/big.CHGCAR")));

  // A grid beyond the integer tokens.
  const auto huge = run_rhotrain("predict --run " + run() + " --structure " + out.file("in/good.CHGCAR") + " --grid 1500,8,8 -o " +
                                 out.file("h.CHGCAR"));
  EXPECT_NE(huge.exit_code, 0);
  EXPECT_NE(huge.err.find("1500"), std::string::npos) << huge.err;
  EXPECT_FALSE(fs::exists(out.file("h.CHGCAR")));

  // An element the run never trained on is predicted, with a warning naming it.
  Material odd = s.read(id);
  std::set<int> seen;
  for (const auto& tid : s.split("train")) seen.insert(s.meta(tid).numbers.begin(), s.meta(tid).numbers.end());
  int unseen = 1;
  while (seen.count(unseen)) ++unseen;
  odd.numbers[0] = unseen;
  compute_electron_counts(odd);
  test::write_file(out.file("odd.CHGCAR"), format_chgcar(odd));
  const auto w = run_rhotrain("predict --run " + run() + " --structure " + out.file("odd.CHGCAR") + " -o " + out.file("odd.cube"));
  ASSERT_EQ(w.exit_code, 0) << w.err;
  EXPECT_NE(w.err.find("not in the run's training split"), std::string::npos) << w.err;
  EXPECT_TRUE(fs::exists(out.file("odd.cube")));

  // Flags a command line cannot mean are usage errors.
  EXPECT_EQ(run_rhotrain("predict --run " + run() + " --structure " + out.file("in/good.CHGCAR") + " --grid 8,8 -o x").exit_code, 2);
  EXPECT_EQ(run_rhotrain("predict --run " + run() + " --structure " + out.file("in/good.CHGCAR") +
                         " --grid 8,8,8 --spacing 0.3 -o x").exit_code, 2);
}

TEST_F(Predict, PicturesOfTruthPredictionAndTheirDifferenceAreWrittenAsPng) {
  TempDir out;
  const std::string id = val_id();
  ASSERT_EQ(run_rhotrain("eval --run " + run() + " --write-predictions " + out.file("preds")).exit_code, 0);
  const auto r = run_rhotrain("plot --truth " + store() + " --prediction " + out.file("preds/" + id + ".h5") + " --id " + id +
                              " -o " + out.file("pic.png"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("through"), std::string::npos) << r.out;
  EXPECT_EQ(test::read_file(out.file("pic.png")).substr(1, 3), "PNG");
  const auto bad = run_rhotrain("plot --truth " + store() + " --id " + id + " --plane-atoms 0,1 -o " + out.file("x.png"));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--plane-atoms"), std::string::npos);

  ASSERT_EQ(run_rhotrain("export --store " + store() + " --id " + id + " -o " + out.file("m.CHGCAR")).exit_code, 0);
  const auto p = run_rhotrain("predict --run " + run() + " --structure " + out.file("m.CHGCAR") + " --plot -o " + out.file("m.pred.CHGCAR"));
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_TRUE(fs::exists(out.file("m.pred.png")));
}

}  // namespace
}  // namespace rhotrain
