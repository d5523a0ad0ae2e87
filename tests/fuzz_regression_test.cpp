// Every input a fuzzer ever crashed a parser with (fuzz/regressions/<target>/), and every seed it starts from
// (fuzz/seeds/<target>/, the shipped fixtures and configs), fed to that parser: each is read or refused with
// rhotrain::Error, never anything else.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/error.h"
#include "fuzz/parsers.h"
#include "tests/test_support.h"

namespace rhotrain {
namespace {

namespace fs = std::filesystem;

// The inputs of a target: its kept crashers and seeds, plus what scripts/fuzz.sh seeds it with from the repository.
std::vector<fs::path> inputs_of(const std::string& target) {
  const fs::path root(RHOTRAIN_SOURCE_DIR);
  std::vector<fs::path> dirs = {root / "fuzz" / "regressions" / target, root / "fuzz" / "seeds" / target};
  if (target == "chgcar" || target == "cube" || target == "poscar") dirs.push_back(root / "data" / "fixtures");
  if (target == "config") dirs.push_back(root / "configs");
  std::vector<fs::path> files;
  for (const auto& d : dirs)
    if (fs::is_directory(d))
      for (const auto& e : fs::directory_iterator(d)) {
        const std::string name = e.path().filename().string();
        if (e.is_regular_file() && e.path().extension() != ".gz" && name != "manifest.json" && name != "README.md")
          files.push_back(e.path());
      }
  return files;
}

TEST(FuzzRegressions, EveryKeptCrasherAndSeedIsReadOrRefusedWithAnError) {
  test::TempDir dir;
  size_t fed = 0;
  for (const auto& [target, what] : fuzz::targets()) {
    for (const auto& input : inputs_of(target)) {
      SCOPED_TRACE(target + ": " + input.string());
      std::string path = input.string();
      if (target == "state") {  // the reader takes a checkpoint folder holding state.json
        fs::copy_file(input, dir.file("state.json"), fs::copy_options::overwrite_existing);
        path = dir.path();
      }
      try {
        fuzz::parse_as(target, path);
      } catch (const Error&) {  // refused in one line: what bad bytes should get
      } catch (const std::exception& e) {
        ADD_FAILURE() << "not a rhotrain::Error: " << e.what();
      }
      ++fed;
    }
  }
  EXPECT_GE(fed, 20u);
}

}  // namespace
}  // namespace rhotrain
