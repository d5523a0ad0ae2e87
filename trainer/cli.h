// Helpers every subcommand shares: option parsing with --help, and the signature of a subcommand.
// Subcommands throw rhotrain::Error (or a cxxopts error) on bad input; main() turns that into one line.
#pragma once
#include <cxxopts.hpp>
#include <string>
#include <vector>

namespace rhotrain {

using CommandFn = int (*)(int argc, char** argv);

// Parses argv (argv[0] = "rhotrain <command>"); prints help and exits 0 on --help; rejects unknown
// flags and, unless `positional` names one, stray positional arguments.
cxxopts::ParseResult parse_command(cxxopts::Options& options, int argc, char** argv,
                                   const std::vector<std::string>& positional = {});

// The value of a required option; throws "--name is required" when it is absent.
template <typename T>
T required(const cxxopts::ParseResult& r, const std::string& name) {
  if (!r.count(name)) throw cxxopts::exceptions::exception("--" + name + " is required");
  return r[name].as<T>();
}

}  // namespace rhotrain
