// The rhotrain binary as a user meets it: bad input gives one line naming the file and the problem,
// a non-zero exit, and leaves no file behind; good input round-trips through import/export/split.
#include <H5Cpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "materials/store.h"
#include "tests/test_support.h"

namespace rhotrain {
namespace {

using test::fixture;
using test::run_rhotrain;
using test::TempDir;

const char* kSiChgcarHead =
    "Si\n 1.0\n 0.0 2.7155 2.7155\n 2.7155 0.0 2.7155\n 2.7155 2.7155 0.0\n Si\n 2\nDirect\n"
    " 0 0 0\n 0.25 0.25 0.25\n\n 2 2 2\n";

// Expects a failed run whose stderr is one line containing every `needle`.
void expect_one_line_error(const test::RunResult& r, const std::vector<std::string>& needles) {
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  for (const auto& n : needles) EXPECT_NE(r.err.find(n), std::string::npos) << "'" << n << "' not in: " << r.err;
}

struct BadFile {
  const char* name;
  std::string body;
  const char* problem;
};

// Names the case in test output instead of GoogleTest's dump of the struct's bytes (which include pointers).
void PrintTo(const BadFile& f, std::ostream* os) { *os << f.name; }

class BadChgcar : public ::testing::TestWithParam<BadFile> {};

TEST_P(BadChgcar, IsRefusedWithoutTouchingTheStore) {
  TempDir dir;
  const auto& [name, body, problem] = GetParam();
  test::write_file(dir.file("bad.CHGCAR"), body);
  const auto r = run_rhotrain("import --format chgcar --out " + dir.file("out.h5") + " " + dir.file("bad.CHGCAR"));
  expect_one_line_error(r, {"bad.CHGCAR", problem});
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"bad.CHGCAR"});  // no store, no temp file
}

INSTANTIATE_TEST_SUITE_P(
    Cli, BadChgcar,
    ::testing::Values(
        BadFile{"Truncated", std::string(kSiChgcarHead) + "1 2 3 4 5\n6 7\n", "file ends after 7 of 8 density values"},
        BadFile{"NonNumeric", std::string(kSiChgcarHead) + "1 2 3 4 abc\n6 7 8\n", "non-numeric density value 'abc'"},
        BadFile{"NaN", std::string(kSiChgcarHead) + "1 2 3 4 nan\n6 7 8\n", "not finite"},
        BadFile{"Inf", std::string(kSiChgcarHead) + "1 2 3 4 inf\n6 7 8\n", "not finite"},
        BadFile{"ZeroVolume", "Si\n 1.0\n 0 0 0\n 0 0 0\n 0 0 0\n Si\n 1\nDirect\n 0 0 0\n\n 1 1 1\n 1\n",
                "cell volume is zero or negative"},
        BadFile{"LeftHandedCell", "Si\n 1.0\n 0 2.7 2.7\n 2.7 2.7 0\n 2.7 0 2.7\n Si\n 1\nDirect\n 0 0 0\n\n 1 1 1\n 1\n",
                "cell volume is zero or negative"},
        BadFile{"UnknownElement", "Xx\n 1.0\n 3 0 0\n 0 3 0\n 0 0 3\n Xx\n 1\nDirect\n 0 0 0\n\n 1 1 1\n 1\n",
                "unknown element symbol 'Xx'"}),
    [](const ::testing::TestParamInfo<BadFile>& info) { return std::string(info.param.name); });

TEST(Cli, MissingInputFileIsNamed) {
  TempDir dir;
  const auto r = run_rhotrain("import --format chgcar --out " + dir.file("o.h5") + " " + dir.file("nope.CHGCAR"));
  expect_one_line_error(r, {"nope.CHGCAR", "no such file"});
  EXPECT_TRUE(dir.entries().empty());
}

TEST(Cli, AFailedImportLeavesAnExistingStoreUnchanged) {
  TempDir dir;
  ASSERT_EQ(run_rhotrain("import --format chgcar --out " + dir.file("s.h5") + " " +
                         fixture("Si_diamond.ase.CHGCAR")).exit_code, 0);
  const std::string before = test::read_file(dir.file("s.h5"));
  test::write_file(dir.file("bad.CHGCAR"), std::string(kSiChgcarHead) + "1 2 3\n");
  const auto r = run_rhotrain("import --strict --format chgcar --out " + dir.file("s.h5") + " " +
                              fixture("TiO2_rutile.ase.CHGCAR") + " " + dir.file("bad.CHGCAR"));
  expect_one_line_error(r, {"bad.CHGCAR", "nothing imported"});
  EXPECT_EQ(test::read_file(dir.file("s.h5")), before);
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"bad.CHGCAR", "s.h5"}));
  // Without --strict the good file goes in and the bad one is listed with its reason.
  const auto lenient = run_rhotrain("import --format chgcar --out " + dir.file("s.h5") + " " +
                                    fixture("TiO2_rutile.ase.CHGCAR") + " " + dir.file("bad.CHGCAR"));
  EXPECT_EQ(lenient.exit_code, 0) << lenient.err;
  EXPECT_NE(lenient.err.find("skipped " + dir.file("bad.CHGCAR")), std::string::npos) << lenient.err;
  EXPECT_EQ(MaterialStore({dir.file("s.h5")}).ids(), (std::vector<std::string>{"Si_diamond.ase", "TiO2_rutile.ase"}));
}

TEST(Cli, DuplicateIdIsRefusedUnlessOverwrite) {
  TempDir dir;
  const std::string import = "import --format chgcar --out " + dir.file("s.h5") + " " + fixture("Si_diamond.ase.CHGCAR");
  ASSERT_EQ(run_rhotrain(import).exit_code, 0);
  expect_one_line_error(run_rhotrain(import), {"s.h5", "'Si_diamond.ase'", "already exists"});
  EXPECT_EQ(run_rhotrain(import + " --overwrite").exit_code, 0);
  EXPECT_EQ(MaterialStore({dir.file("s.h5")}).ids(), std::vector<std::string>{"Si_diamond.ase"});
}

TEST(Cli, IdPatternAndVasp4Species) {
  TempDir dir;
  const auto r = run_rhotrain("import --format chgcar --species Cu --id-from '([A-Za-z]+_[a-z]+)\\.' --out " +
                              dir.file("s.h5") + " " + fixture("Cu_fcc.vasp4.CHGCAR") + " " +
                              fixture("NaCl_rs.pymatgen.CHGCAR.gz"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(MaterialStore({dir.file("s.h5")}).ids(), (std::vector<std::string>{"Cu_fcc", "NaCl_rs"}));
}

TEST(Cli, ForeignAndNewerStoresAreRefused) {
  TempDir dir;
  {
    H5::H5File f(dir.file("other.h5"), H5F_ACC_TRUNC);
    H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
    f.openGroup("/").createAttribute("format", t, H5::DataSpace(H5S_SCALAR)).write(t, std::string("other-tool"));
  }
  expect_one_line_error(run_rhotrain("info " + dir.file("other.h5")), {"other.h5", "not a rhotrain store"});
  // Importing into it must not modify it either.
  const std::string before = test::read_file(dir.file("other.h5"));
  expect_one_line_error(run_rhotrain("import --format chgcar --out " + dir.file("other.h5") + " " +
                                     fixture("Si_diamond.ase.CHGCAR")),
                        {"other.h5", "not a rhotrain store"});
  EXPECT_EQ(test::read_file(dir.file("other.h5")), before);

  ASSERT_EQ(run_rhotrain("import --format chgcar --out " + dir.file("new.h5") + " " + fixture("Si_diamond.ase.CHGCAR"))
                .exit_code, 0);
  {
    H5::H5File f(dir.file("new.h5"), H5F_ACC_RDWR);
    const int v = 7;
    f.openGroup("/").openAttribute("version").write(H5::PredType::NATIVE_INT, &v);
  }
  expect_one_line_error(run_rhotrain("info " + dir.file("new.h5")), {"new.h5", "version 7 is newer"});
}

TEST(Cli, CorruptStoreIsRefused) {
  TempDir dir;
  test::write_file(dir.file("junk.h5"), std::string("\x89HDF\r\n\x1a\n", 8) + std::string(100, '\0'));
  expect_one_line_error(run_rhotrain("info " + dir.file("junk.h5")), {"junk.h5"});
  expect_one_line_error(run_rhotrain("info " + dir.file("missing.h5")), {"missing.h5", "no such file"});
}

TEST(Cli, UnknownFlagAndUnknownCommand) {
  expect_one_line_error(run_rhotrain("info --bogus x.h5"), {"bogus"});
  auto r = run_rhotrain("frobnicate");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("unknown command 'frobnicate'"), std::string::npos);
}

TEST(Cli, SplitIsSeededAndRefusesEmptySplits) {
  TempDir dir;
  std::string files;
  for (const char* f : {"Si_diamond.ase.CHGCAR", "TiO2_rutile.ase.CHGCAR", "MgO_rs.spin_aug.pymatgen.CHGCAR",
                        "NaCl_rs.pymatgen.CHGCAR.gz"})
    files += " " + fixture(f);
  ASSERT_EQ(run_rhotrain("import --format chgcar --out " + dir.file("s.h5") + files).exit_code, 0);
  const std::string before = test::read_file(dir.file("s.h5"));
  expect_one_line_error(run_rhotrain("split " + dir.file("s.h5") + " --val-fraction 0.05"), {"empty val split"});
  EXPECT_EQ(test::read_file(dir.file("s.h5")), before);

  ASSERT_EQ(run_rhotrain("split " + dir.file("s.h5") + " --val-fraction 0.5 --seed 4").exit_code, 0);
  const auto first = MaterialStore({dir.file("s.h5")}).split("val");
  ASSERT_EQ(run_rhotrain("split " + dir.file("s.h5") + " --val-fraction 0.5 --seed 4").exit_code, 0);
  MaterialStore store({dir.file("s.h5")});
  EXPECT_EQ(store.split("val"), first);
  EXPECT_EQ(store.split("val_200"), first);
  EXPECT_EQ(store.split("train").size(), 2u);
}

TEST(Cli, ExportedFilesImportBackToTheSameMaterial) {
  TempDir dir;
  ASSERT_EQ(run_rhotrain("import --format cube --out " + dir.file("a.h5") + " " + fixture("AlP_zb.qe-pp.cube")).exit_code,
            0);
  for (const std::string format : {"chgcar", "cube"}) {
    const std::string file = dir.file("AlP_zb.qe-pp." + format);
    auto r = run_rhotrain("export --store " + dir.file("a.h5") + " --id AlP_zb.qe-pp --format " + format + " -o " + file);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(run_rhotrain("import --format " + format + " --out " + dir.file(format + ".h5") + " " + file).exit_code, 0);
    const Material a = MaterialStore({dir.file("a.h5")}).read("AlP_zb.qe-pp");
    const Material b = MaterialStore({dir.file(format + ".h5")}).read("AlP_zb.qe-pp");
    ASSERT_EQ(a.density.size(), b.density.size());
    for (size_t i = 0; i < a.density.size(); ++i) ASSERT_NEAR(a.density[i], b.density[i], 2e-7 * a.density[i]);
    EXPECT_LT((a.lattice - b.lattice).cwiseAbs().maxCoeff(), 1e-8);
  }
  expect_one_line_error(run_rhotrain("export --store " + dir.file("a.h5") + " --id nope --format cube -o " + dir.file("x")),
                        {"a.h5", "no material with id 'nope'"});
}

TEST(Cli, SynthThenInfoSummarisesTheStore) {
  TempDir dir;
  const auto r = run_rhotrain("synth --out " + dir.file("d/s.h5") + " --n-train 20 --n-val 5 --seed 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("note: val has only 5 materials"), std::string::npos) << r.out;
  const auto info = run_rhotrain("info " + dir.file("d/s.h5"));
  ASSERT_EQ(info.exit_code, 0);
  EXPECT_NE(info.out.find("materials: 25"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("train=20 val=5 val_200=5"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("n_e (sum Z)"), std::string::npos);
}

// The repository stands alone: nothing the README's two commands build or run reads the workspace's shared folder.
TEST(Standalone, NoSourceScriptOrConfigReadsTheSharedFolder) {
  namespace fs = std::filesystem;
  const fs::path root = RHOTRAIN_SOURCE_DIR;
  std::vector<std::string> offenders;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const std::string name = it->path().filename().string();
    if (it->is_directory() && (name == "build" || name == ".git" || name == "data" || name == "runs" || name == "docs")) {
      it.disable_recursion_pending();
      continue;
    }
    const std::string ext = it->path().extension().string();
    if (!it->is_regular_file() || !(ext == ".cpp" || ext == ".h" || ext == ".py" || ext == ".sh" || ext == ".yaml" ||
                                    name == "CMakeLists.txt" || name == "run"))
      continue;
    const std::string needle = std::string("..") + "/shared";  // spelled so that this file does not contain it
    if (test::read_file(it->path().string()).find(needle) != std::string::npos &&
        name != "test.sh")  // test.sh hides that folder from the suite under CI
      offenders.push_back(fs::relative(it->path(), root).string());
  }
  EXPECT_TRUE(offenders.empty()) << offenders.front() << " names the workspace's shared folder";
  EXPECT_EQ(test::fixture("manifest.json").rfind(root.string(), 0), 0u) << "the fixtures live in the repository";
}

// A store whose attributes have the wrong type is refused in one line (it aborted with an HDF5 exception).
TEST(Cli, AStoreAttributeOfTheWrongTypeIsAOneLineError) {
  TempDir dir;
  ASSERT_EQ(run_rhotrain("import -o " + dir.file("s.h5") + " " + fixture("Si_diamond.ase.CHGCAR")).exit_code, 0);
  {
    H5::H5File f(dir.file("s.h5"), H5F_ACC_RDWR);
    H5::Group root = f.openGroup("/");
    root.removeAttr("version");
    H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
    root.createAttribute("version", t, H5::DataSpace(H5S_SCALAR)).write(t, std::string("1"));
  }
  const auto r = run_rhotrain("info --store " + dir.file("s.h5"));
  expect_one_line_error(r, {"s.h5", "'version' attribute is not an integer"});
  EXPECT_EQ(r.exit_code, 1);
}

TEST(Cli, TheSameStoreFileTwiceOrTwoFilesWithOneIdAreRefused) {
  TempDir dir;
  for (const char* s : {"a.h5", "b.h5"})
    ASSERT_EQ(run_rhotrain("import -o " + dir.file(s) + " " + fixture("Si_diamond.ase.CHGCAR")).exit_code, 0);
  expect_one_line_error(run_rhotrain("info --store " + dir.file("a.h5") + " " + dir.file("b.h5")),
                        {"b.h5", "'Si_diamond.ase' is also in", "a.h5"});
  expect_one_line_error(run_rhotrain("info --store " + dir.file("a.h5") + " --store " + dir.file("a.h5")),
                        {"a.h5", "given twice"});
}

// Flags a user gets wrong exit 2 and say what is accepted; a file of the other format is named as such.
TEST(Cli, UsageErrorsExitTwoAndNameTheFlag) {
  TempDir dir;
  const std::string cube = fixture("AlP_zb.qe-pp.cube");
  struct Case {
    std::string args, message;
  };
  for (const Case& c : std::vector<Case>{
           {"import --format vasp -o " + dir.file("s.h5") + " " + cube, "--format must be one of chgcar|cube, not 'vasp'"},
           {"import -o " + dir.file("s.h5"), "no input files given"},
           {"export --store " + dir.file("s.h5") + " --id x --format vasp -o " + dir.file("x"), "--format must be one of"},
           {"split --store " + dir.file("s.h5") + " --val-fraction 1.5", "--val-fraction must be between 0 and 1"},
           {"logs " + dir.path() + " --format xml", "--format must be one of table|csv|json, not 'xml'"},
           {"eval --run " + dir.path() + " --decode bogus", "--decode must be one of median|continuous|mean|argmax"},
           {"eval --run " + dir.path() + " --mode maskgit:0", "--mode must be maskgit:K"},
       }) {
    const auto r = run_rhotrain(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << ": " << r.err;
    expect_one_line_error(r, {c.message});
  }
  EXPECT_TRUE(dir.entries().empty());
  const auto wrong = run_rhotrain("import --format chgcar -o " + dir.file("s.h5") + " " + cube);
  expect_one_line_error(wrong, {"AlP_zb.qe-pp.cube", "looks like a Gaussian cube file"});
  EXPECT_TRUE(dir.entries().empty());
}

// Without --format each file is read as what it looks like; one file is "1 material".
TEST(Cli, ImportReadsEachFileAsWhatItLooksLike) {
  TempDir dir;
  const auto r = run_rhotrain("import -o " + dir.file("s.h5") + " " + fixture("AlP_zb.qe-pp.cube") + " " +
                              fixture("TiO2_rutile.ase.CHGCAR"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(MaterialStore({dir.file("s.h5")}).ids(), (std::vector<std::string>{"AlP_zb.qe-pp", "TiO2_rutile.ase"}));
  const auto one = run_rhotrain("import -o " + dir.file("t.h5") + " " + fixture("Si_diamond.ase.CHGCAR"));
  EXPECT_NE(one.out.find("(1 material)"), std::string::npos) << one.out;
}

// --species is for VASP 4 files; given for a file with its own species line, it is ignored with a note.
TEST(Cli, SpeciesForAFileThatNamesItsOwnIsNoted) {
  TempDir dir;
  const auto r = run_rhotrain("import --species Cu -o " + dir.file("s.h5") + " " + fixture("Cu_fcc.vasp4.CHGCAR") + " " +
                              fixture("Si_diamond.ase.CHGCAR"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Si_diamond.ase.CHGCAR names its species (Si); --species is for VASP 4 files"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("Cu_fcc"), std::string::npos) << "the VASP 4 file needs --species: no note for it";
}

TEST(Cli, InfoListsIdsAndPrintsJson) {
  TempDir dir;
  ASSERT_EQ(run_rhotrain("import -o " + dir.file("s.h5") + " " + fixture("Si_diamond.ase.CHGCAR") + " " +
                         fixture("MgO_rs.spin_aug.pymatgen.CHGCAR")).exit_code, 0);
  EXPECT_EQ(run_rhotrain("info --store " + dir.file("s.h5") + " --ids").out, "MgO_rs.spin_aug.pymatgen\nSi_diamond.ase\n");
  const auto j = nlohmann::json::parse(run_rhotrain("info " + dir.file("s.h5") + " --json --ids").out);
  EXPECT_EQ(j["materials"], 2);
  EXPECT_EQ(j["ids"].size(), 2u);
  EXPECT_EQ(j["n_e_sum_z"]["max"].get<double>(), 28.0);  // Si2: ΣZ = 28 > MgO's 20
}

// The real-DFT store the repository ships for configs/qe.yaml: its splits are the ones the config trains and scores.
TEST(Cli, TheShippedRealDftStoreHasTheSplitsItsConfigUses) {
  const auto r = run_rhotrain("info --store " + std::string(RHOTRAIN_SOURCE_DIR) + "/data/qe/qe.h5 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["materials"], 404);
  EXPECT_EQ(j["splits"]["train"], 323);
  EXPECT_EQ(j["splits"]["val_200"], 81);
  EXPECT_NE(test::read_file(std::string(RHOTRAIN_SOURCE_DIR) + "/configs/qe.yaml").find("store: [data/qe/qe.h5]"), std::string::npos);
}

// A mistyped id gets the close ones suggested; the export's folder is created.
TEST(Cli, ExportSuggestsCloseIdsAndCreatesTheFolder) {
  TempDir dir;
  ASSERT_EQ(run_rhotrain("import -o " + dir.file("s.h5") + " " + fixture("Si_diamond.ase.CHGCAR")).exit_code, 0);
  expect_one_line_error(run_rhotrain("export --store " + dir.file("s.h5") + " --id Si_diamnd.ase -o " + dir.file("x.cube")),
                        {"no material with id 'Si_diamnd.ase' (did you mean 'Si_diamond.ase'?)"});
  // A fragment of the id, in another case, is a near miss too.
  expect_one_line_error(run_rhotrain("export --store " + dir.file("s.h5") + " --id si_diamond -o " + dir.file("x.cube")),
                        {"(did you mean 'Si_diamond.ase'?)"});
  const auto r = run_rhotrain("export --store " + dir.file("s.h5") + " --id Si_diamond.ase -o " + dir.file("new/dir/x.cube"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("cube"), std::string::npos) << "the format follows the .cube name";
  EXPECT_NE(test::read_file(dir.file("new/dir/x.cube")).find("Si_diamond"), std::string::npos);
}

// One rule for every output: missing folders on its path are created.
TEST(Cli, OutputsIntoMissingFoldersCreateThem) {
  TempDir dir;
  const auto imported = run_rhotrain("import -o " + dir.file("new/a/s.h5") + " " + fixture("Si_diamond.ase.CHGCAR") + " " + fixture("Li_bcc.ase.cube"));
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  ASSERT_EQ(run_rhotrain("split --store " + dir.file("new/a/s.h5") + " --val-fraction 0.5").exit_code, 0);
  const auto preview = run_rhotrain("preview --store " + dir.file("new/a/s.h5") + " --split train --plot " + dir.file("other/b/p.svg"));
  EXPECT_EQ(preview.exit_code, 0) << preview.err;
  EXPECT_TRUE(std::filesystem::exists(dir.file("other/b/p.svg")));
}

TEST(Cli, VersionNamesRhotrainAndLibTorch) {
  const auto r = run_rhotrain("--version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("rhotrain ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("LibTorch "), std::string::npos) << r.out;
}

// Every flag the README's CLI section shows is a flag of that command's --help: one vocabulary, documented.
TEST(Cli, EveryFlagInTheReadmeIsInTheCommandsHelp) {
  const std::string readme = test::read_file(std::string(RHOTRAIN_SOURCE_DIR) + "/README.md");
  std::istringstream lines(readme);
  std::map<std::string, std::set<std::string>> flags;
  std::string line, command;
  bool in_block = false;
  const std::regex flag(R"((^|[\s\[(])(--[a-z][a-z0-9-]*))");
  while (std::getline(lines, line)) {
    if (line.rfind("```", 0) == 0) {
      in_block = !in_block, command.clear();
      continue;
    }
    if (!in_block) continue;
    if (line.rfind("rhotrain ", 0) == 0) command = line.substr(9, line.find(' ', 9) - 9);
    else if (line.empty() || line[0] != ' ') command.clear();
    if (command.empty() || command[0] == '-') continue;
    for (std::sregex_iterator m(line.begin(), line.end(), flag), end; m != end; ++m) flags[command].insert((*m)[2]);
  }
  ASSERT_GE(flags.size(), 12u) << "the README's CLI section was not found";
  for (const auto& [cmd, names] : flags) {
    const auto help = run_rhotrain(cmd + " --help");
    ASSERT_EQ(help.exit_code, 0) << cmd;
    for (const auto& f : names) EXPECT_NE(help.out.find(f + " "), std::string::npos) << "rhotrain " << cmd << " has no " << f;
  }
}

// Import at scale: a directory of files, some corrupt, into a directory store of bounded shards, parsed in
// parallel. The good files go in, the bad ones are listed; a re-run skips what is in; existing shards are never
// rewritten; split replaces only the store's small splits file; --strict imports nothing when a file is bad.
TEST(Cli, ADirectoryStoreGrowsByNewShardsAndNeverRewritesOne) {
  namespace fs = std::filesystem;
  TempDir dir;
  fs::create_directories(dir.file("in"));
  const char* good[] = {"Si_diamond.ase.CHGCAR", "TiO2_rutile.ase.CHGCAR", "MgO_rs.spin_aug.pymatgen.CHGCAR",
                        "NaCl_rs.pymatgen.CHGCAR.gz", "AlP_zb.qe-pp.cube", "Li_bcc.ase.cube"};
  for (const char* f : good) fs::copy_file(fixture(f), dir.file(std::string("in/") + f));
  test::write_file(dir.file("in/cut.CHGCAR"), std::string(kSiChgcarHead) + "1 2 3\n");
  test::write_file(dir.file("in/junk.cube"), "not a density\n");

  const std::string store = dir.file("store");
  const std::string import = "import -o " + store + " --jobs 2 --shard-bytes 200000 " + dir.file("in") + "/*";
  expect_one_line_error(run_rhotrain("import --strict -o " + store + " --jobs 2 " + dir.file("in") + "/*"),
                        {"nothing imported: 2 of 8 files could not be read"});
  EXPECT_TRUE(!fs::exists(store) || fs::is_empty(store)) << "--strict with a bad file writes no shard";

  const auto r = run_rhotrain(import);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("(6 materials; 2 files could not be read, skipped;"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("skipped " + dir.file("in/cut.CHGCAR")), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("skipped " + dir.file("in/junk.cube")), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("MB/s with 2 parser thread(s)"), std::string::npos) << r.out;
  std::vector<std::string> shards;
  for (const auto& e : fs::directory_iterator(store)) shards.push_back(e.path().filename().string());
  std::sort(shards.begin(), shards.end());
  ASSERT_GE(shards.size(), 2u) << "200 kB shards: the six compressed grids do not fit in one";
  EXPECT_EQ(shards.front(), "shard-00000.h5");
  const auto first_shard = test::read_file(store + "/shard-00000.h5");

  // Files in order across the shards, as the command line gave them (the glob sorts).
  const MaterialStore s(expand_store_paths({store}));
  EXPECT_EQ(s.ids().size(), 6u);
  EXPECT_TRUE(s.contains("AlP_zb.qe-pp") && s.contains("TiO2_rutile.ase"));

  // Again, with one new file: only it is imported, into a new shard.
  fs::copy_file(fixture("Cu_fcc.vasp4.CHGCAR"), dir.file("in/Cu_fcc.vasp4.CHGCAR"));
  const auto again = run_rhotrain(import + " --species Cu");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("(1 material; 6 already in it, skipped;"), std::string::npos) << again.out;
  EXPECT_EQ(test::read_file(store + "/shard-00000.h5"), first_shard);
  EXPECT_EQ(MaterialStore(expand_store_paths({store})).ids().size(), 7u);

  // Splits go to a small file of their own; every reading command takes the folder.
  ASSERT_EQ(run_rhotrain("split --store " + store + " --val-fraction 0.3").exit_code, 0);
  EXPECT_TRUE(fs::exists(store + "/splits.h5"));
  EXPECT_EQ(test::read_file(store + "/shard-00000.h5"), first_shard);
  const auto info = run_rhotrain("info --store " + store);
  EXPECT_NE(info.out.find("materials: 7"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("train=5 val=2 val_200=2"), std::string::npos) << info.out;
  expect_one_line_error(run_rhotrain("import --overwrite -o " + store + " " + fixture("Si_diamond.ase.CHGCAR")),
                        {"a directory store never rewrites one"});
}

}  // namespace
}  // namespace rhotrain
