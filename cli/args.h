// What every subcommand shares: option parsing with --help, required options, and the run config a command
// line asks for (a YAML file overlaid by the shorthands and --set).
// Subcommands throw rhotrain::Error (or a cxxopts error) on bad input; main() turns that into one line.
#pragma once
#include <cxxopts.hpp>
#include <string>
#include <vector>

#include "trainer/run_config.h"

namespace rhotrain {

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

// Adds --steps and --set (and --weighting when `with_weighting`), the overrides of a run config.
void add_config_overrides(cxxopts::Options& options, bool with_weighting);
// Defaults ← the YAML file at `path` ← --weighting ← --steps ← every --set, in that order.
RunConfig run_config_from(const std::string& path, const cxxopts::ParseResult& r);

}  // namespace rhotrain
