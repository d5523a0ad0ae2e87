#include "trainer/train_state.h"

#include <filesystem>
#include <limits>
#include <optional>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_file.h"

namespace rhotrain {
namespace {

// A count of the state: a JSON integer that fits T. nlohmann would turn 3e22 into an int64 with undefined behaviour
// and 2.5 into 2 silently (found by fuzz_state).
template <typename T>
T count_field(const nlohmann::json& j, const char* key, const std::string& path, std::optional<T> absent = std::nullopt) {
  if (absent && !j.contains(key)) return *absent;
  const nlohmann::json& v = j.at(key);
  uint64_t value = 0;
  bool whole = true;
  if (v.is_number_unsigned())
    value = v.get<uint64_t>();
  else if (v.is_number_integer() && v.get<int64_t>() >= 0)
    value = static_cast<uint64_t>(v.get<int64_t>());
  else
    whole = false;
  if (!whole || value > static_cast<uint64_t>(std::numeric_limits<T>::max()))
    throw Error(path + ": not a training state (" + key + " is " + v.dump() + ", not a count)");
  return static_cast<T>(value);
}

}  // namespace

TrainState read_train_state(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "state.json").string();
  const nlohmann::json j = read_json_file(path);
  TrainState s;
  try {
    s.step = count_field<int64_t>(j, "step", path);
    s.position = count_field<uint64_t>(j, "position", path);
    s.epoch_size = count_field<uint64_t>(j, "epoch_size", path);
    s.events_file = j.at("events_file");
    s.events_bytes = count_field<uint64_t>(j, "events_bytes", path);
    s.train_seconds = j.at("train_seconds");
    s.world_size = count_field<int>(j, "world_size", path, 1);
    s.threads = count_field<int>(j, "threads", path, 0);
    s.schedule_steps = count_field<int64_t>(j, "schedule_steps", path, int64_t{0});
    s.skipped_steps = count_field<int64_t>(j, "skipped_steps", path, int64_t{0});
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not a training state (" + e.what() + ")");
  }
  if (s.world_size < 1 || !(s.train_seconds >= 0))
    throw Error(path + ": not a training state (a world size below 1 or a negative time)");
  return s;
}

std::string train_state_json(const TrainState& state) {
  const nlohmann::json j = {{"step", state.step},
                            {"position", state.position},
                            {"epoch", state.epoch_size ? state.position / state.epoch_size : 0},
                            {"index_in_epoch", state.epoch_size ? state.position % state.epoch_size : 0},
                            {"epoch_size", state.epoch_size},
                            {"events_file", state.events_file},
                            {"events_bytes", state.events_bytes},
                            {"train_seconds", state.train_seconds},
                            {"world_size", state.world_size},
                            {"threads", state.threads},
                            {"schedule_steps", state.schedule_steps},
                            {"skipped_steps", state.skipped_steps}};
  return j.dump(2) + "\n";
}

}  // namespace rhotrain
