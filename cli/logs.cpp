// rhotrain logs: the scalars of one or more runs' TensorBoard event files — each tag's last and best value side by
// side, or the per-step series; a file still being written is read up to its last complete record.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "cli/args.h"
#include "cli/commands.h"
#include "common/error.h"
#include "trainer/events.h"

namespace rhotrain {
namespace {

// "Best" is the minimum for losses and errors, the maximum for everything else (throughput, …).
bool lower_is_better(const std::string& tag) {
  return tag.find("loss") != std::string::npos || tag.find("nmae") != std::string::npos ||
         tag.find("wait") != std::string::npos;
}

}  // namespace

int cmd_logs(int argc, char** argv) {
  cxxopts::Options opts("rhotrain logs", "Scalars from the TensorBoard event files of one or more runs.");
  opts.add_options()
      ("runs", "run directories", cxxopts::value<std::vector<std::string>>())
      ("tag", "only tags matching this regex", cxxopts::value<std::string>()->default_value("."))
      ("format", "table | csv | json", cxxopts::value<std::string>()->default_value("table"))
      ("series", "print every step's value instead of last / best");
  opts.positional_help("RUN_DIR...");
  auto r = parse_command(opts, argc, argv, {"runs"});
  const auto runs = required<std::vector<std::string>>(r, "runs");
  const std::string format = r["format"].as<std::string>();
  if (format != "table" && format != "csv" && format != "json") throw Error("--format must be table, csv or json");
  std::regex filter;
  try {
    filter = std::regex(r["tag"].as<std::string>());
  } catch (const std::regex_error&) {
    throw Error("--tag '" + r["tag"].as<std::string>() + "' is not a valid regex");
  }

  std::vector<std::map<std::string, std::map<int64_t, double>>> data;
  std::map<std::string, bool> all_tags;
  for (const auto& run : runs) {
    const RunScalars scalars = read_run_scalars(run, [&](const std::string& tag) { return std::regex_search(tag, filter); });
    if (scalars.truncated) std::fprintf(stderr, "note: %s: last record incomplete (still being written); ignored\n", run.c_str());
    data.push_back(scalars.by_tag);
    for (const auto& [tag, s] : data.back()) all_tags[tag] = true;
  }

  nlohmann::json json = nlohmann::json::object();
  if (r.count("series")) {
    if (format == "csv") std::printf("run,tag,step,value\n");
    for (size_t i = 0; i < runs.size(); ++i)
      for (const auto& [tag, series] : data[i])
        for (const auto& [step, value] : series) {
          if (format == "json") json[runs[i]][tag].push_back({step, value});
          else if (format == "csv") std::printf("%s,%s,%lld,%.9g\n", runs[i].c_str(), tag.c_str(), static_cast<long long>(step), value);
          else std::printf("%-24s %-36s %10lld %14.6g\n", runs[i].c_str(), tag.c_str(), static_cast<long long>(step), value);
        }
    if (format == "json") std::cout << json.dump(1) << "\n";
    return 0;
  }

  if (format == "csv") std::printf("run,tag,last_step,last,best_step,best\n");
  if (format == "table") {
    std::printf("%-36s", "tag");
    for (const auto& run : runs) std::printf(" | %-40s", run.c_str());
    std::printf("\n%-36s", "");
    for (size_t i = 0; i < runs.size(); ++i) std::printf(" | %-19s %-20s", "last (step)", "best (step)");
    std::printf("\n");
  }
  for (const auto& [tag, unused] : all_tags) {
    if (format == "table") std::printf("%-36s", tag.c_str());
    for (size_t i = 0; i < runs.size(); ++i) {
      auto it = data[i].find(tag);
      if (it == data[i].end()) {
        if (format == "table") std::printf(" | %-40s", "-");
        continue;
      }
      const auto& s = it->second;
      auto best = s.begin();
      for (auto p = s.begin(); p != s.end(); ++p)
        if (lower_is_better(tag) ? p->second < best->second : p->second > best->second) best = p;
      const auto last = std::prev(s.end());
      char a[64], b[64];
      std::snprintf(a, sizeof a, "%.6g (%lld)", last->second, static_cast<long long>(last->first));
      std::snprintf(b, sizeof b, "%.6g (%lld)", best->second, static_cast<long long>(best->first));
      if (format == "table") std::printf(" | %-19s %-20s", a, b);
      else if (format == "csv")
        std::printf("%s,%s,%lld,%.9g,%lld,%.9g\n", runs[i].c_str(), tag.c_str(), static_cast<long long>(last->first),
                    last->second, static_cast<long long>(best->first), best->second);
      else
        json[runs[i]][tag] = {{"last_step", last->first}, {"last", last->second}, {"best_step", best->first},
                              {"best", best->second}, {"points", s.size()}};
    }
    if (format == "table") std::printf("\n");
  }
  if (format == "json") std::cout << json.dump(1) << "\n";
  return 0;
}

}  // namespace rhotrain
