#include "materials/splits.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "common/random.h"

namespace rhotrain {

std::vector<std::string> sample_ids(const std::vector<std::string>& ids, size_t k, uint64_t seed) {
  std::vector<std::string> pool = ids;
  std::sort(pool.begin(), pool.end());
  Rng rng(mix_seed(seed, 0x7a1200));
  rng.shuffle(pool);
  pool.resize(std::min(k, pool.size()));
  std::sort(pool.begin(), pool.end());
  return pool;
}

Splits make_splits(std::vector<std::string> ids, double val_fraction, uint64_t seed) {
  if (!(val_fraction > 0 && val_fraction < 1)) throw Error("--val-fraction must be in (0, 1)");
  std::sort(ids.begin(), ids.end());
  const size_t n_val = static_cast<size_t>(std::llround(val_fraction * static_cast<double>(ids.size())));
  if (n_val == 0 || n_val >= ids.size())
    throw Error("--val-fraction " + std::to_string(val_fraction) + " of " + std::to_string(ids.size()) +
                " materials leaves an empty " + (n_val == 0 ? "val" : "train") + " split");
  Rng rng(seed);
  rng.shuffle(ids);
  Splits s;
  s.val.assign(ids.begin(), ids.begin() + static_cast<long>(n_val));
  s.train.assign(ids.begin() + static_cast<long>(n_val), ids.end());
  std::sort(s.val.begin(), s.val.end());
  std::sort(s.train.begin(), s.train.end());
  s.val_200 = sample_ids(s.val, kFixedEvalSize, seed);
  return s;
}

}  // namespace rhotrain
