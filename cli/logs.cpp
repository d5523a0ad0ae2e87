// rhotrain logs: the scalars of one or more runs' TensorBoard event files — each tag's last and best value side by
// side, or the per-step series; a file still being written is read up to its last complete record. A folder of runs
// shows every run below it.
#include <algorithm>
#include <cstdio>
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

using Series = std::map<int64_t, double>;

// Which way is better for a tag: -1 lower (losses, errors, waiting, time), +1 higher (throughput), 0 neither
// (learning rate, gradient norm, counts), which has no "best".
int better(const std::string& tag) {
  for (const char* lower : {"loss", "nmae", "wait", "seconds"})
    if (tag.find(lower) != std::string::npos) return -1;
  for (const char* higher : {"_per_s", "gflops"})
    if (tag.find(higher) != std::string::npos) return 1;
  return 0;
}

// NMAE is stored as a fraction; tables show it in percent, as eval and compare do.
std::string shown(const std::string& tag, double value) {
  char b[48];
  if (tag.find("nmae") != std::string::npos) std::snprintf(b, sizeof b, "%.4g %%", 100 * value);
  else std::snprintf(b, sizeof b, "%.6g", value);
  return b;
}

std::string with_step(const std::string& value, int64_t step) { return value + " (" + std::to_string(step) + ")"; }

void print_series(const std::vector<std::string>& runs, const std::vector<std::map<std::string, Series>>& data,
                  const std::string& format, size_t tag_width) {
  nlohmann::json json = nlohmann::json::object();
  if (format == "csv") std::printf("run,tag,step,value\n");
  if (format == "table") std::printf("%-24s %-*s %10s %14s\n", "run", static_cast<int>(tag_width), "tag", "step", "value");
  for (size_t i = 0; i < runs.size(); ++i)
    for (const auto& [tag, series] : data[i])
      for (const auto& [step, value] : series) {
        if (format == "json") json[runs[i]][tag].push_back({step, value});
        else if (format == "csv") std::printf("%s,%s,%lld,%.9g\n", runs[i].c_str(), tag.c_str(), static_cast<long long>(step), value);
        else std::printf("%-24s %-*s %10lld %14s\n", runs[i].c_str(), static_cast<int>(tag_width), tag.c_str(),
                         static_cast<long long>(step), shown(tag, value).c_str());
      }
  if (format == "json") std::cout << json.dump(1) << "\n";
}

void print_last_and_best(const std::vector<std::string>& runs, const std::vector<std::map<std::string, Series>>& data,
                         const std::map<std::string, bool>& tags, const std::string& format, size_t tag_width) {
  nlohmann::json json = nlohmann::json::object();
  const int w = static_cast<int>(tag_width);
  if (format == "csv") std::printf("run,tag,last_step,last,best_step,best\n");
  if (format == "table") {
    std::printf("%-*s", w, "tag");
    for (const auto& run : runs) std::printf(" | %-42s", run.c_str());
    std::printf("\n%-*s", w, "");
    for (size_t i = 0; i < runs.size(); ++i) std::printf(" | %-20s %-21s", "last (step)", "best (step)");
    std::printf("\n");
  }
  for (const auto& [tag, unused] : tags) {
    if (format == "table") std::printf("%-*s", w, tag.c_str());
    for (size_t i = 0; i < runs.size(); ++i) {
      auto it = data[i].find(tag);
      if (it == data[i].end()) {
        if (format == "table") std::printf(" | %-42s", "-");
        continue;
      }
      const Series& s = it->second;
      const auto last = std::prev(s.end());
      auto best = s.end();
      if (const int direction = better(tag))
        best = std::min_element(s.begin(), s.end(), [&](const auto& a, const auto& b) { return direction * a.second > direction * b.second; });
      const bool has_best = best != s.end();
      if (format == "table") {
        std::printf(" | %-20s %-21s", with_step(shown(tag, last->second), last->first).c_str(),
                    has_best ? with_step(shown(tag, best->second), best->first).c_str() : "-");
      } else if (format == "csv") {
        std::printf("%s,%s,%lld,%.9g,", runs[i].c_str(), tag.c_str(), static_cast<long long>(last->first), last->second);
        if (has_best) std::printf("%lld,%.9g\n", static_cast<long long>(best->first), best->second);
        else std::printf(",\n");
      } else {
        json[runs[i]][tag] = {{"last_step", last->first}, {"last", last->second}, {"points", s.size()}};
        json[runs[i]][tag]["best_step"] = has_best ? nlohmann::json(best->first) : nlohmann::json(nullptr);
        json[runs[i]][tag]["best"] = has_best ? nlohmann::json(best->second) : nlohmann::json(nullptr);
      }
    }
    if (format == "table") std::printf("\n");
  }
  if (format == "json") std::cout << json.dump(1) << "\n";
}

}  // namespace

int cmd_logs(int argc, char** argv) {
  cxxopts::Options opts("rhotrain logs", "Scalars from the TensorBoard event files of one or more runs.");
  opts.add_options()
      ("runs", "run directories", cxxopts::value<std::vector<std::string>>())
      ("tag", "only tags matching this regex", cxxopts::value<std::string>()->default_value("."))
      ("format", "table | csv | json (tables show NMAE in percent; csv and json keep fractions)",
       cxxopts::value<std::string>()->default_value("table"))
      ("series", "print every step's value instead of last / best");
  opts.positional_help("RUN_DIR...");
  auto r = parse_command(opts, argc, argv, {"runs"});
  if (!r.count("runs")) throw UsageError("no run directory given: rhotrain logs RUN_DIR...");
  const std::string format = choice("format", r["format"].as<std::string>(), {"table", "csv", "json"});
  const std::string pattern = r["tag"].as<std::string>();
  std::regex filter;
  try {
    filter = std::regex(pattern);
  } catch (const std::regex_error&) {
    throw UsageError("--tag '" + pattern + "' is not a valid regex");
  }

  // A folder of runs (runs/qe) stands for every run below it that has an event file, as for tensorboard --logdir.
  std::vector<std::string> runs;
  for (const auto& dir : r["runs"].as<std::vector<std::string>>()) {
    const auto found = run_folders(dir);
    if (found.empty()) throw Error(dir + ": no TensorBoard event file (events.out.tfevents.*) in this folder or below it");
    runs.insert(runs.end(), found.begin(), found.end());
  }
  std::vector<std::map<std::string, Series>> data;
  std::map<std::string, bool> tags, all_tags;
  for (const auto& run : runs) {
    const RunScalars all = read_run_scalars(run, [](const std::string&) { return true; });
    if (all.truncated) std::fprintf(stderr, "note: %s: last record incomplete (still being written); ignored\n", run.c_str());
    std::map<std::string, Series> kept;
    for (const auto& [tag, series] : all.by_tag) {
      all_tags[tag] = true;
      if (std::regex_search(tag, filter)) kept[tag] = series, tags[tag] = true;
    }
    data.push_back(kept);
  }
  if (tags.empty()) {
    std::string names;
    for (const auto& [tag, unused] : all_tags) names += (names.empty() ? "" : ", ") + tag;
    throw Error("no scalar tag matches --tag '" + pattern + "' (the runs' tags: " + names + ")");
  }
  size_t tag_width = 3;
  for (const auto& [tag, unused] : tags) tag_width = std::max(tag_width, tag.size());
  if (r.count("series")) print_series(runs, data, format, tag_width);
  else print_last_and_best(runs, data, tags, format, tag_width);
  return 0;
}

}  // namespace rhotrain
