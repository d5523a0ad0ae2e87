#include "tests/test_support.h"

#include <algorithm>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/random.h"

namespace rhotrain::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "rhotrain-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::vector<std::string> TempDir::entries() const {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(path_)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string fixture(const std::string& name) {
  const std::string p = std::string(RHOTRAIN_FIXTURES_DIR) + "/" + name;
  if (!fs::exists(p)) throw std::runtime_error("fixture missing: " + p);
  return p;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

RunResult run_rhotrain(const std::string& args) { return run_shell(std::string(RHOTRAIN_BINARY) + " " + args); }

RunResult run_shell(const std::string& command) {
  TempDir io;
  const std::string cmd = command + " >" + io.file("out") + " 2>" + io.file("err");
  const int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(io.file("out"));
  r.err = read_file(io.file("err"));
  return r;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

Material toy_material(const std::string& id, const Grid& grid, unsigned seed) {
  Material m;
  m.id = id;
  m.source = "toy";
  m.lattice << 4.0, 0.0, 0.0, 0.3, 5.0, 0.0, 0.2, 0.1, 6.0;
  m.numbers = {8, 14, 14};
  m.frac_coords = {{0.1, 0.2, 0.3}, {0.5, 0.5, 0.5}, {0.9, 0.05, 0.7}};
  m.grid = grid;
  Rng rng(seed);
  m.density.resize(voxel_count(grid));
  for (auto& v : m.density) v = static_cast<float>(rng.uniform(0.01, 3.0));
  compute_electron_counts(m);
  return m;
}

}  // namespace rhotrain::test
