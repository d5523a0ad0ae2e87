#include "trainer/run_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "common/error.h"
#include "common/text.h"

namespace rhotrain {
namespace {

enum class Kind { integer, real, boolean, text, list };

struct KeySpec {
  const char* key;
  Kind kind;
  const char* value;    // default, canonical text
  const char* choices;  // "a|b|c" for enumerations, "" otherwise
  KeyScope scope;
};

constexpr KeyScope arm = KeyScope::arm, length = KeyScope::length, execution = KeyScope::execution,
                   operational = KeyScope::operational;

// The schema: names fixed by docs/design.md, so configs, scripts and docs agree.
const KeySpec kSchema[] = {
    {"data.store", Kind::list, "[data/default.h5]", "", arm},
    {"data.split_train", Kind::text, "train", "", arm},
    {"data.patch", Kind::integer, "6", "", arm},
    {"data.patches_per_mat", Kind::real, "64", "", arm},
    {"data.weighting", Kind::text, "uniform", "uniform|electrons", arm},
    {"data.weighting_mode", Kind::text, "sampling", "sampling|loss", arm},
    {"data.electrons_from", Kind::text, "sum_z", "sum_z|grid", arm},
    {"data.target", Kind::text, "density", "density|residual", arm},
    {"data.atoms", Kind::text, "", "", arm},
    {"data.codec", Kind::text, "", "", arm},
    {"data.codec_bins", Kind::integer, "256", "", arm},
    {"data.max_len", Kind::integer, "1024", "", arm},
    {"data.workers", Kind::integer, "1", "", operational},
    {"data.cache_bytes", Kind::integer, "1073741824", "", operational},
    {"model.preset", Kind::text, "tiny", "tiny|30M|200M", arm},
    {"model.objective", Kind::text, "masked", "masked|causal", arm},
    {"model.geometry_bias", Kind::boolean, "true", "", arm},
    {"model.attend_positions", Kind::boolean, "false", "", arm},
    {"model.d_model", Kind::integer, "0", "", arm},
    {"model.layers", Kind::integer, "0", "", arm},
    {"model.heads", Kind::integer, "0", "", arm},
    {"model.kv_heads", Kind::integer, "0", "", arm},
    {"model.ffn", Kind::integer, "0", "", arm},
    {"train.steps", Kind::integer, "1000", "", length},
    {"train.batch_size", Kind::integer, "16", "", arm},
    {"train.lr", Kind::real, "0.002", "", arm},
    {"train.warmup", Kind::integer, "50", "", arm},
    {"train.schedule", Kind::text, "cosine", "cosine|wsd", arm},
    {"train.mask", Kind::text, "cosine", "cosine|all", arm},
    {"train.cooldown", Kind::real, "0.2", "", arm},
    {"train.min_lr_ratio", Kind::real, "0.1", "", arm},
    {"train.weight_decay", Kind::real, "0.01", "", arm},
    {"train.grad_clip", Kind::real, "1.0", "", arm},
    {"train.density_loss_power", Kind::real, "0.5", "", arm},
    {"train.crps_weight", Kind::real, "0", "", arm},
    {"train.seed", Kind::integer, "0", "", arm},
    {"train.device", Kind::text, "cpu", "cpu|cuda|auto", arm},
    {"train.threads", Kind::integer, "0", "", operational},
    {"train.backend", Kind::text, "auto", "auto|gloo|nccl", execution},
    {"train.precision", Kind::text, "auto", "auto|fp32|bf16", execution},
    {"train.attention", Kind::text, "auto", "auto|fused|explicit", execution},
    {"train.dist_timeout_s", Kind::integer, "600", "", operational},
    {"train.max_bad_steps", Kind::integer, "20", "", operational},
    {"train.log_every", Kind::integer, "10", "", operational},
    {"eval.every", Kind::integer, "0", "", operational},
    {"eval.sets", Kind::list, "[val_200]", "", operational},
    {"eval.mode", Kind::text, "maskgit:1", "", operational},
    {"eval.decode", Kind::text, "continuous", "median|continuous|mean|argmax", operational},
    {"eval.batch_size", Kind::integer, "64", "", operational},
    {"eval.stride", Kind::integer, "0", "", operational},
    {"checkpoint.every", Kind::integer, "200", "", operational},
    {"checkpoint.keep", Kind::integer, "2", "", operational},
};

// "unknown config key 'train.lerning_rate' (did you mean 'train.lr'?)": the nearest keys of the schema, also by the
// spelled-out names people write for a few of them.
std::string unknown_key(const std::string& key) {
  static const std::pair<const char*, const char*> kSpelledOut[] = {
      {"train.learning_rate", "train.lr"}, {"train.batch", "train.batch_size"}, {"train.num_steps", "train.steps"},
      {"train.n_threads", "train.threads"}, {"data.bins", "data.codec_bins"}, {"data.patch_size", "data.patch"}};
  std::vector<std::string> names;
  for (const auto& s : kSchema) names.push_back(s.key);
  std::vector<std::string> spelled;
  for (const auto& [long_name, key_name] : kSpelledOut) spelled.push_back(long_name);
  std::string hint = did_you_mean(key, names);
  if (hint.empty())
    for (const auto& near : closest_matches(key, spelled, 1))
      for (const auto& [long_name, key_name] : kSpelledOut)
        if (near == long_name) hint = std::string(" (did you mean '") + key_name + "'?)";
  return "unknown config key '" + key + "'" + hint;
}

bool may_change_on_resume(KeyScope s) { return s == KeyScope::length || s == KeyScope::operational; }
bool defines_the_arm(KeyScope s) { return s == KeyScope::arm || s == KeyScope::length; }

const KeySpec* find_spec(const std::string& key) {
  for (const auto& s : kSchema)
    if (key == s.key) return &s;
  return nullptr;
}

const KeySpec& spec(const std::string& key) {
  if (const KeySpec* s = find_spec(key)) return *s;
  throw Error(unknown_key(key));
}

std::string canonical(const KeySpec& s, const YAML::Node& node, const std::string& origin) {
  auto fail = [&](const char* expected) -> std::string {
    std::string got = node.IsScalar() ? node.Scalar() : node.IsSequence() ? "a list" : "a map";
    throw Error(origin + ": " + s.key + ": expected " + expected + ", got '" + got + "'");
  };
  try {
    switch (s.kind) {
      case Kind::integer: {
        if (!node.IsScalar()) fail("an integer");
        const std::string& t = node.Scalar();
        size_t used = 0;
        long long v = std::stoll(t, &used);
        if (used != t.size()) fail("an integer");
        return std::to_string(v);
      }
      case Kind::real: {
        if (!node.IsScalar()) fail("a number");
        const std::string& t = node.Scalar();
        size_t used = 0;
        double v = std::stod(t, &used);
        if (used != t.size() || !std::isfinite(v)) fail("a number");
        // The shortest text that reads back as the same double: 0.2, not 0.20000000000000001.
        for (int precision = 1;; ++precision) {
          std::ostringstream os;
          os.precision(precision);
          os << v;
          if (std::stod(os.str()) == v || precision >= 17) return os.str();
        }
      }
      case Kind::boolean: {
        if (!node.IsScalar()) fail("true or false");
        const std::string& t = node.Scalar();
        if (t == "true" || t == "false") return t;
        return fail("true or false");
      }
      case Kind::text: {
        if (!node.IsScalar()) fail("a string");
        const std::string t = node.Scalar();
        if (*s.choices) {
          std::string choices = std::string("|") + s.choices + "|";
          if (choices.find("|" + t + "|") == std::string::npos)
            throw Error(origin + ": " + s.key + ": must be one of " + s.choices + ", not '" + t + "'");
        }
        return t;
      }
      case Kind::list: {
        std::vector<std::string> items;
        if (node.IsScalar()) {
          items.push_back(node.Scalar());
        } else if (node.IsSequence()) {
          for (const auto& n : node) {
            if (!n.IsScalar()) fail("a list of strings");
            items.push_back(n.Scalar());
          }
        } else {
          fail("a list of strings");
        }
        YAML::Emitter e;
        e << YAML::Flow << items;
        return e.c_str();
      }
    }
  } catch (const std::invalid_argument&) {
    fail(s.kind == Kind::integer ? "an integer" : "a number");
  } catch (const std::out_of_range&) {
    fail(s.kind == Kind::integer ? "an integer" : "a number");
  }
  return "";
}

// A section or key name: YAML also allows a list or a map as a key ("? [a]: 1"), which a config never means.
std::string key_name(const YAML::Node& key, const std::string& path) {
  if (!key.IsScalar())
    throw Error(path + ": line " + std::to_string(key.Mark().line + 1) + ": a section or key name must be a plain word");
  return key.Scalar();
}

}  // namespace

RunConfig::RunConfig() {
  for (const auto& s : kSchema) values_[s.key] = canonical(s, YAML::Load(*s.value ? s.value : "\"\""), "defaults");
}

void RunConfig::set(const std::string& key, const std::string& value, const std::string& origin) {
  const KeySpec* s = find_spec(key);
  if (!s) throw UsageError(origin + ": " + unknown_key(key));
  YAML::Node node;
  try {
    node = YAML::Load(value);
  } catch (const YAML::Exception& e) {
    throw Error(origin + ": " + key + ": cannot parse '" + value + "' (" + e.msg + ")");
  }
  if (node.IsNull()) node = YAML::Node(value);  // an empty value is the empty string
  values_[key] = canonical(*s, node, origin);
}

void RunConfig::set(const std::string& assignment, const std::string& origin) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) throw Error(origin + ": expected section.key=value, got '" + assignment + "'");
  set(assignment.substr(0, eq), assignment.substr(eq + 1), origin);
}

void RunConfig::merge_file(const std::string& path) {
  if (!std::filesystem::exists(path)) throw Error(path + ": no such file");
  if (std::filesystem::is_directory(path)) throw Error(path + ": is a directory, not a config file");
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw Error(path + ": not valid YAML (" + e.msg + " at line " + std::to_string(e.mark.line + 1) + ")");
  } catch (const std::exception& e) {
    throw Error(path + ": cannot read (" + e.what() + ")");
  }
  if (root.IsNull()) return;
  if (!root.IsMap()) throw Error(path + ": a config is a map of sections (data, model, train, eval, checkpoint)");
  for (const auto& section : root) {
    const std::string name = key_name(section.first, path);
    if (!section.second.IsMap()) throw Error(path + ": section '" + name + "' must be a map of keys");
    for (const auto& kv : section.second) {
      const std::string key = name + "." + key_name(kv.first, path);
      const KeySpec* s = find_spec(key);
      if (!s) throw Error(path + ": " + unknown_key(key));
      values_[key] = canonical(*s, kv.second, path);
    }
  }
}

RunConfig RunConfig::from_resolved_file(const std::string& path) {
  RunConfig c;
  c.merge_file(path);
  return c;
}

int64_t RunConfig::get_int(const std::string& key) const { return std::stoll(values_.at(spec(key).key)); }
double RunConfig::get_double(const std::string& key) const { return std::stod(values_.at(spec(key).key)); }
bool RunConfig::get_bool(const std::string& key) const { return values_.at(spec(key).key) == "true"; }
const std::string& RunConfig::get_string(const std::string& key) const { return values_.at(spec(key).key); }

std::vector<std::string> RunConfig::get_list(const std::string& key) const {
  return YAML::Load(values_.at(spec(key).key)).as<std::vector<std::string>>();
}

std::string RunConfig::to_yaml() const {
  std::string out, section;
  for (const auto& s : kSchema) {
    const std::string key = s.key;
    const std::string sec = key.substr(0, key.find('.'));
    if (sec != section) {
      out += sec + ":\n";
      section = sec;
    }
    std::string v = values_.at(key);
    if (s.kind == Kind::text) {  // quoted when YAML needs it (empty, ':' …)
      YAML::Emitter e;
      e << YAML::DoubleQuoted << v;
      v = e.c_str();
    }
    out += "  " + key.substr(sec.size() + 1) + ": " + v + "\n";
  }
  return out;
}

std::vector<std::string> RunConfig::differences(const RunConfig& other) const {
  std::vector<std::string> keys;
  for (const auto& s : kSchema)
    if (values_.at(s.key) != other.values_.at(s.key)) keys.push_back(s.key);
  return keys;
}

std::vector<std::string> RunConfig::resume_conflicts(const RunConfig& other) const {
  std::vector<std::string> keys;
  for (const auto& key : differences(other))
    if (!may_change_on_resume(spec(key).scope)) keys.push_back(key + " (" + other.values_.at(key) + " -> " + values_.at(key) + ")");
  return keys;
}

std::vector<std::string> RunConfig::arm_differences(const RunConfig& other) const {
  std::vector<std::string> keys;
  for (const auto& key : differences(other))
    if (defines_the_arm(spec(key).scope)) keys.push_back(key);
  return keys;
}

std::string RunConfig::resume_changeable_keys() {
  // A section whose every key may change is named once, as "section.*".
  std::string out, section;
  bool whole = false;
  std::vector<std::string> pending;
  auto flush = [&] {
    if (whole && !pending.empty()) pending = {section + ".*"};
    for (const auto& k : pending) out += (out.empty() ? "" : ", ") + k;
    pending.clear();
  };
  for (const auto& s : kSchema) {
    const std::string key = s.key, sec = key.substr(0, key.find('.'));
    if (sec != section) {
      flush();
      section = sec, whole = true;
    }
    if (may_change_on_resume(s.scope)) pending.push_back(key);
    else whole = false;
  }
  flush();
  return out;
}

}  // namespace rhotrain
