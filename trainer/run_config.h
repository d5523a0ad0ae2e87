// A run's configuration: YAML sections data / model / train / eval / checkpoint with a fixed schema (names,
// types, defaults); `--set section.key=value` overrides any key; the resolved form goes to the run dir.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace rhotrain {

class RunConfig {
 public:
  RunConfig();  // every key at its default

  // Overlays a YAML file; an unknown key or a value of the wrong type is an Error naming file and key.
  void merge_file(const std::string& path);
  // Overlays one "section.key=value" (value in YAML syntax); `origin` names where it came from.
  void set(const std::string& assignment, const std::string& origin);
  void set(const std::string& key, const std::string& value, const std::string& origin);
  // Reads a resolved config written by to_yaml (a saved run).
  static RunConfig from_resolved_file(const std::string& path);

  int64_t get_int(const std::string& key) const;
  double get_double(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  const std::string& get_string(const std::string& key) const;
  std::vector<std::string> get_list(const std::string& key) const;

  // All keys in schema order, nested by section.
  std::string to_yaml() const;
  // Keys whose values differ from `other`, leaving out those a resumed run may change (step count, logging).
  std::vector<std::string> resume_conflicts(const RunConfig& other) const;
  // Every key that differs (for comparing two runs).
  std::vector<std::string> differences(const RunConfig& other) const;

 private:
  std::map<std::string, std::string> values_;  // canonical text per key
};

}  // namespace rhotrain
