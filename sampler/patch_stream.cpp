#include "sampler/patch_stream.h"

#include <algorithm>

#include "common/error.h"

namespace rhotrain {

PlanEntry PatchStream::at(uint64_t position) const {
  const uint64_t epoch = position / plan_.epoch_size(), index = position % plan_.epoch_size();
  std::shared_ptr<const std::vector<PlanEntry>> entries;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = epochs_.find(epoch);
    if (it != epochs_.end()) entries = it->second;
  }
  if (!entries) {
    // Computed outside the lock; a concurrent duplicate computation gives the identical list.
    entries = std::make_shared<const std::vector<PlanEntry>>(plan_.epoch(epoch));
    std::lock_guard<std::mutex> lock(mutex_);
    epochs_.emplace(epoch, entries);
    while (epochs_.size() > 2) epochs_.erase(epochs_.begin());  // batches never span more than two epochs
  }
  return (*entries)[index];
}

TokenRows tokenize_entries(const PatchSource& source, const V3Tokenizer& tokenizer,
                           const std::vector<PlanEntry>& entries, int row_len, const AtomGrids* atoms) {
  TokenRows rows;
  if (row_len == 0)
    for (const auto& e : entries)
      row_len = std::max(row_len, tokenizer.sequence_length(source.meta(e.material).n_atoms()));
  rows.row_len = row_len;
  const size_t n = entries.size(), nv = static_cast<size_t>(tokenizer.patch_voxels());
  rows.tokens.assign(n * static_cast<size_t>(row_len), 0);
  rows.bins.resize(n * nv);
  rows.lengths.resize(n);
  rows.dens_start.resize(n);
  if (atoms) rows.atoms.resize(n * nv);
  std::vector<float> patch(nv);
  for (size_t r = 0; r < n; ++r) {
    const MaterialMeta& m = source.meta(entries[r].material);
    if (tokenizer.sequence_length(m.n_atoms()) > row_len)
      throw Error(m.id + ": sequence of " + std::to_string(tokenizer.sequence_length(m.n_atoms())) +
                  " tokens does not fit rows of " + std::to_string(row_len));
    source.read_patch(entries[r].material, entries[r].origin, tokenizer.patch(), patch.data());
    if (atoms) {
      float* baseline = rows.atoms.data() + r * nv;
      atoms->read_patch(entries[r].material, entries[r].origin, tokenizer.patch(), baseline);
      for (size_t v = 0; v < nv; ++v) patch[v] -= baseline[v];
    }
    tokenizer.encode(m, entries[r].origin, patch.data(), rows.tokens.data() + r * row_len, rows.bins.data() + r * nv);
    rows.lengths[r] = tokenizer.sequence_length(m.n_atoms());
    rows.dens_start[r] = v3::dens_start(m.n_atoms());
  }
  return rows;
}

}  // namespace rhotrain
