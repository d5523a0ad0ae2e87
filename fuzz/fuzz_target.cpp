// One libFuzzer target; RHOTRAIN_FUZZ_TARGET (set by CMake) names the parser it feeds. Each input is written to a
// file of this process, as the parsers read files; only rhotrain::Error may come back.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "common/error.h"
#include "fuzz/parsers.h"

namespace {

std::string input_path() {
  const std::string target = RHOTRAIN_FUZZ_TARGET;
  const auto dir = std::filesystem::temp_directory_path() / ("rhotrain-fuzz-" + target + "-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / (target == "state" ? "state.json" : "input")).string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = input_path();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  const std::string target = RHOTRAIN_FUZZ_TARGET;
  try {
    rhotrain::fuzz::parse_as(target, target == "state" ? std::filesystem::path(path).parent_path().string() : path);
  } catch (const rhotrain::Error&) {  // a one-line refusal is the right answer to bad bytes
  }
  return 0;
}
