#include "cli/args.h"

#include <cstdlib>
#include <iostream>

namespace rhotrain {

cxxopts::ParseResult parse_command(cxxopts::Options& options, int argc, char** argv,
                                   const std::vector<std::string>& positional) {
  options.add_options()("h,help", "show this help");
  if (!positional.empty()) options.parse_positional(positional);
  auto result = options.parse(argc, argv);
  if (result.count("help")) {
    std::vector<std::string> shown;
    for (const auto& g : options.groups())
      if (g != kAliases) shown.push_back(g);
    std::cout << options.help(shown) << std::endl;
    std::exit(0);
  }
  if (!result.unmatched().empty())
    throw cxxopts::exceptions::exception("unexpected argument '" + result.unmatched().front() + "'");
  return result;
}

std::vector<std::string> store_arguments(const cxxopts::ParseResult& r) {
  std::vector<std::string> paths;
  for (const char* name : {"store", "stores"})
    if (r.count(name))
      for (const auto& p : r[name].as<std::vector<std::string>>()) paths.push_back(p);
  if (paths.empty()) throw UsageError("--store is required");
  return paths;
}

std::string choice(const std::string& name, const std::string& value, const std::vector<std::string>& choices) {
  std::string known;
  for (const auto& c : choices) {
    if (c == value) return value;
    known += (known.empty() ? "" : "|") + c;
  }
  throw UsageError("--" + name + " must be one of " + known + ", not '" + value + "'");
}

void add_config_overrides(cxxopts::Options& options, bool with_weighting) {
  if (with_weighting) options.add_options()("weighting", "shorthand for data.weighting", cxxopts::value<std::string>());
  options.add_options()
      ("steps", "shorthand for train.steps", cxxopts::value<int64_t>())
      ("set", "override a key: section.key=value (repeatable)", cxxopts::value<std::vector<std::string>>());
}

RunConfig run_config_from(const std::string& path, const cxxopts::ParseResult& r) {
  RunConfig config;
  config.merge_file(path);
  return with_overrides(config, r);
}

RunConfig with_overrides(RunConfig config, const cxxopts::ParseResult& r) {
  if (r.count("weighting")) config.set("data.weighting", r["weighting"].as<std::string>(), "--weighting");
  if (r.count("steps")) config.set("train.steps", std::to_string(r["steps"].as<int64_t>()), "--steps");
  if (r.count("set"))
    for (const auto& s : r["set"].as<std::vector<std::string>>()) config.set(s, "--set");
  return config;
}

std::shared_ptr<const AtomicDensity> atoms_for_codec(const cxxopts::ParseResult& r, const LmqCodec& codec) {
  const bool residual = codec.target == "residual";
  if (!r.count("atoms")) {
    if (residual) throw UsageError("a residual codec encodes ρ − ρ_atoms: give the atomic-density fit its residuals were taken over with --atoms");
    return nullptr;
  }
  const std::string path = r["atoms"].as<std::string>();
  auto atoms = std::make_shared<const AtomicDensity>(AtomicDensity::load(path));
  if (residual && atoms->fingerprint() != codec.atoms_fingerprint)
    throw Error(path + ": not the atomic-density fit the codec's residuals were taken over");
  return atoms;
}

}  // namespace rhotrain
