// `rhotrain train`: the training loop (in train.cpp, top to bottom) and the pieces of a run that
// evaluation reuses: the model shape from a config, the codec a config points at, the run's store.
#pragma once
#include <memory>
#include <string>

#include "materials/store.h"
#include "models/model_config.h"
#include "sampler/lmq_codec.h"
#include "trainer/run_config.h"

namespace rhotrain {

int cmd_train(int argc, char** argv);

// One training run with a resolved config (what `train` does after parsing its flags). `resume_hint` is the
// part of the command line a user repeats to resume after a signal (e.g. "--config configs/x.yaml").
// Returns 0 when the run finished or stopped cleanly on a signal.
int train_run(const RunConfig& config, const std::string& run_dir, bool resume, const std::string& resume_hint);

// True once SIGINT or SIGTERM asked the current run to stop.
bool stop_requested();

// LibTorch intra-op threads (requested, or one per core when 0) over a single-threaded OpenBLAS.
void configure_threads(int64_t requested);

// The model shape a config asks for: preset, then explicit keys, for a codec of `bins` bins.
ModelConfig model_config_for(const RunConfig& config, int bins);

// The codec named by data.codec (fitted on data.split_train and cached there when the file is missing;
// cached next to the first store file as <store>.codec-<split>-<bins>.h5 when data.codec is empty).
// Returns it with the path it lives at.
std::pair<LmqCodec, std::string> codec_for(const RunConfig& config, const MaterialStore& store);

}  // namespace rhotrain
