// A run's configuration: YAML sections data / model / train / eval / checkpoint with a fixed schema (names,
// types, defaults); `--set section.key=value` overrides any key; the resolved form goes to the run dir.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace rhotrain {

// What a key means when a run is resumed or compared with another run: one column of the schema, so resume
// checks and matched-run checks cannot drift apart.
enum class KeyScope {
  arm,          // what is trained: fixed for the run's life, and equal between matched arms (but data.weighting)
  length,       // train.steps: may grow on resume, but matched arms train equally long
  execution,    // backend, precision, attention: fixed on resume (they change the arithmetic), free between arms
  operational,  // logging, checkpoints, data loaders, evaluation: free on resume and between arms
};

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
  // Every key whose value differs from `other`'s.
  std::vector<std::string> differences(const RunConfig& other) const;
  // "key (saved -> now)" for each differing key a resumed run may not change; `other` is the saved config.
  std::vector<std::string> resume_conflicts(const RunConfig& other) const;
  // The differing keys that define what is trained: for two matched arms of the study, data.weighting alone.
  std::vector<std::string> arm_differences(const RunConfig& other) const;
  // The keys a resume may change, for messages ("train.steps, …, eval.*, checkpoint.*").
  static std::string resume_changeable_keys();

 private:
  std::map<std::string, std::string> values_;  // canonical text per key
};

}  // namespace rhotrain
