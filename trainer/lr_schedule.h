// The learning rate at each step: a linear warmup, then a cosine decay to min_lr_ratio·lr, or (WSD) constant
// until a linear cooldown to min_lr_ratio·lr over the last `cooldown` fraction of the steps.
#pragma once
#include <cstdint>

#include "trainer/settings.h"

namespace rhotrain {

double learning_rate(const TrainSettings& t, int64_t step);

}  // namespace rhotrain
