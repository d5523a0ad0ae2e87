// The exceptions rhotrain throws for bad input: Error for files, configs and values (exit 1), UsageError for a
// command line the command cannot take (exit 2). Messages name the file or flag and the problem; main() prints
// them as one line.
#pragma once
#include <stdexcept>
#include <string>

namespace rhotrain {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct UsageError : Error {
  using Error::Error;
};

}  // namespace rhotrain
