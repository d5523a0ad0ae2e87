// Seeded train/val splits and the fixed evaluation sample (val_200) written into a store.
// Same ids + same seed give the same splits on every machine.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace rhotrain {

constexpr size_t kFixedEvalSize = 200;

struct Splits {
  std::vector<std::string> train, val, val_200;
};

// A seeded sample of min(k, ids.size()) ids, returned sorted.
std::vector<std::string> sample_ids(const std::vector<std::string>& ids, size_t k, uint64_t seed);

// Shuffles the (sorted) ids with `seed`, takes round(val_fraction·N) for val, the rest for train, and
// samples val_200 from val. Throws Error when either split would be empty.
Splits make_splits(std::vector<std::string> ids, double val_fraction, uint64_t seed);

}  // namespace rhotrain
