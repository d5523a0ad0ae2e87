// Bulk export of the patch stream for other trainers: the plan's first N sequences as int32 .npy shards
// [rows, max_len] (PAD-filled, numpy.load reads them) and index.jsonl (row → shard, material id, origin).
#pragma once
#include <cstddef>
#include <string>

#include "sampler/training_set.h"

namespace rhotrain {

struct TokenExportSpec {
  size_t sequences = 0;     // the first N positions of the stream
  size_t shard_rows = 4096;
  int threads = 2;          // the shards' bytes do not depend on it
};

// Writes DIR (through a temporary sibling, renamed at the end, so a failed export leaves no partial folder);
// returns the tokenizer's throughput in sequences per second.
double export_token_shards(const TrainingSet& set, const V3Tokenizer& tokenizer, const TokenExportSpec& spec,
                           const std::string& dir);

}  // namespace rhotrain
