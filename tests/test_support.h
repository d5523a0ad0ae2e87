// Shared test helpers: a scratch folder per test, the fixture folder, and running the rhotrain binary.
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "materials/material.h"

namespace rhotrain::test {

// A fresh empty folder under /tmp, removed when the test ends.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::vector<std::string> entries() const;  // file names in the folder

 private:
  std::string path_;
};

std::string fixture(const std::string& name);  // path of a file in data/fixtures

struct RunResult {
  int exit_code;
  std::string out, err;
};
// Runs `rhotrain <args>` through the shell (args are passed as written).
RunResult run_rhotrain(const std::string& args);
// Runs a shell command line, capturing its stdout and stderr.
RunResult run_shell(const std::string& command);

void write_file(const std::string& path, const std::string& text);
std::string read_file(const std::string& path);

// The message of the rhotrain::Error that `f` throws, or "" when it throws none.
std::string error_of(const std::function<void()>& f);

// A small deterministic material with a non-cubic grid for store and codec tests.
Material toy_material(const std::string& id, const Grid& grid, unsigned seed = 1);

}  // namespace rhotrain::test
