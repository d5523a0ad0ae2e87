// What every subcommand shares: option parsing with --help, required options, and the run config a command
// line asks for (a YAML file overlaid by the shorthands and --set).
// Subcommands throw rhotrain::Error (or a cxxopts error) on bad input; main() turns that into one line.
#pragma once
#include <cxxopts.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "materials/atomic_density.h"
#include "sampler/lmq_codec.h"
#include "trainer/run_config.h"

namespace rhotrain {

// Parses argv (argv[0] = "rhotrain <command>"); prints help and exits 0 on --help; rejects unknown
// flags and, unless `positional` names one, stray positional arguments. Options in the group kAliases are
// accepted but left out of --help: older spellings of a flag that kept working.
cxxopts::ParseResult parse_command(cxxopts::Options& options, int argc, char** argv,
                                   const std::vector<std::string>& positional = {});
constexpr const char* kAliases = "aliases";

// The value of --name, or of its older spelling `alias`, or --name's default; nothing when none of these is there.
template <typename T>
std::optional<T> given(const cxxopts::ParseResult& r, const std::string& name, const std::string& alias = "") {
  if (r.count(name)) return r[name].as<T>();
  if (!alias.empty() && r.count(alias)) return r[alias].as<T>();
  try {
    return r[name].as<T>();  // its default, when it has one
  } catch (const cxxopts::exceptions::exception&) {
    return std::nullopt;
  }
}

// given(), for a flag that must be there; throws UsageError "--name is required" otherwise.
template <typename T>
T required(const cxxopts::ParseResult& r, const std::string& name, const std::string& alias = "") {
  if (auto v = given<T>(r, name, alias)) return *v;
  throw UsageError("--" + name + " is required");
}

// The store files of a command that takes them as --store and, as it always did, positionally; UsageError if none.
std::vector<std::string> store_arguments(const cxxopts::ParseResult& r);

// `value` of flag --name when it is one of `choices`; throws UsageError naming them otherwise.
std::string choice(const std::string& name, const std::string& value, const std::vector<std::string>& choices);

// Adds --steps and --set (and --weighting when `with_weighting`), the overrides of a run config.
void add_config_overrides(cxxopts::Options& options, bool with_weighting);
// `base` overlaid by --weighting, --steps and every --set, in that order.
RunConfig with_overrides(RunConfig base, const cxxopts::ParseResult& r);
// Defaults ← the YAML file at `path` ← the overrides.
RunConfig run_config_from(const std::string& path, const cxxopts::ParseResult& r);

// The atomic-density fit named by --atoms (null when not given), checked against `codec`: a residual codec encodes
// ρ − ρ_atoms and needs the very fit its residuals were taken over.
std::shared_ptr<const AtomicDensity> atoms_for_codec(const cxxopts::ParseResult& r, const LmqCodec& codec);

}  // namespace rhotrain
