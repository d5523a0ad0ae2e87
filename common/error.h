// The one exception type rhotrain throws for bad input (files, configs, flags).
// Messages name the file or flag and the problem; main() prints them as one line.
#pragma once
#include <stdexcept>
#include <string>

namespace rhotrain {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace rhotrain
