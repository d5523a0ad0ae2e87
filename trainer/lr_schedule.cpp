#include "trainer/lr_schedule.h"

#include <algorithm>
#include <cmath>

namespace rhotrain {

double learning_rate(const TrainSettings& t, int64_t step) {
  const double lr = t.lr, floor = lr * t.min_lr_ratio;
  const double total = static_cast<double>(t.steps), warmup = static_cast<double>(t.warmup);
  const double s = static_cast<double>(step);
  if (s < warmup) return lr * (s + 1) / warmup;
  if (t.wsd) {
    const double start = total * (1.0 - t.cooldown);
    if (s < start) return lr;
    return floor + (lr - floor) * std::max(0.0, (total - s) / std::max(1.0, total - start));
  }
  const double progress = std::clamp((s - warmup) / std::max(1.0, total - warmup), 0.0, 1.0);
  return floor + 0.5 * (lr - floor) * (1.0 + std::cos(M_PI * progress));
}

}  // namespace rhotrain
