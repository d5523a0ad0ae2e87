// Where a run stands, as its checkpoint's state.json records it: step, stream position, event-file offset, time, ranks
// and skipped updates. Plain JSON, read without LibTorch (the fuzz targets and the tools read it too).
#pragma once
#include <cstdint>
#include <string>

namespace rhotrain {

struct TrainState {
  int64_t step = 0;
  uint64_t position = 0;     // next stream position (sequences consumed so far)
  uint64_t epoch_size = 0;   // T, to report epoch and index
  std::string events_file;   // event file and its size when the checkpoint was written
  uint64_t events_bytes = 0;
  double train_seconds = 0;  // wall time spent training so far
  int world_size = 1;        // ranks that trained it (the global stream does not depend on it)
  int threads = 0;           // LibTorch threads per rank it last trained with (0: not recorded, older checkpoints)
  int64_t skipped_steps = 0; // steps whose update was skipped for a non-finite loss or gradient
  int64_t schedule_steps = 0; // the steps the learning-rate schedule spans (0: not recorded; the config's train.steps)
};

// state.json of a checkpoint folder; throws Error naming the file when it is missing or not a training state.
TrainState read_train_state(const std::string& checkpoint_dir);
// The text of state.json for `state`.
std::string train_state_json(const TrainState& state);

}  // namespace rhotrain
