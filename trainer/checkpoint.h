// Checkpoints of a run: runs/<name>/checkpoints/step-N/ holds the model, the optimizer, the training
// state (step, stream position, event-file offset), the codec, the atomic-density fit and the resolved config. Written to a
// temporary folder and renamed, so a crash never leaves a half-written checkpoint; the newest N are kept.
#pragma once
#include <torch/torch.h>

#include <optional>
#include <string>

#include "materials/atomic_density.h"
#include "models/density_transformer.h"
#include "sampler/lmq_codec.h"
#include "trainer/run_config.h"
#include "trainer/train_state.h"

namespace rhotrain {


// The codec and the atomic-density fit are copied from the run directory's codec.h5 and atoms.h5.
void save_checkpoint(const std::string& run_dir, const TrainState& state, DensityTransformer& model,
                     torch::optim::Optimizer& optimizer, const std::string& config_yaml, int keep);

// checkpoints/step-N with the largest N that is complete; nullopt when there is none.
std::optional<std::string> latest_checkpoint(const std::string& run_dir);
// A given step's checkpoint folder; throws Error when it does not exist.
std::string checkpoint_at(const std::string& run_dir, int64_t step);
// checkpoint_at for a step given as text, where "last" means latest_checkpoint; throws Error when there is none.
std::string find_checkpoint(const std::string& run_dir, const std::string& step);

RunConfig read_checkpoint_config(const std::string& checkpoint_dir);
LmqCodec read_checkpoint_codec(const std::string& checkpoint_dir);
// The checkpoint's atomic-density fit, or null for a checkpoint written before there was one.
std::shared_ptr<const AtomicDensity> read_checkpoint_atoms(const std::string& checkpoint_dir);
void load_model(const std::string& checkpoint_dir, DensityTransformer& model);
void load_optimizer(const std::string& checkpoint_dir, torch::optim::Optimizer& optimizer);

}  // namespace rhotrain
