#include "trainer/train_state.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_file.h"

namespace rhotrain {

TrainState read_train_state(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "state.json").string();
  const nlohmann::json j = read_json_file(path);
  TrainState s;
  try {
    s.step = j.at("step");
    s.position = j.at("position");
    s.epoch_size = j.at("epoch_size");
    s.events_file = j.at("events_file");
    s.events_bytes = j.at("events_bytes");
    s.train_seconds = j.at("train_seconds");
    s.world_size = j.value("world_size", 1);
    s.skipped_steps = j.value("skipped_steps", int64_t{0});
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not a training state (" + e.what() + ")");
  }
  if (s.step < 0 || s.world_size < 1 || s.skipped_steps < 0 || !(s.train_seconds >= 0))
    throw Error(path + ": not a training state (a negative step, world size, count or time)");
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
                            {"skipped_steps", state.skipped_steps}};
  return j.dump(2) + "\n";
}

}  // namespace rhotrain
