// The endless stream of plan entries across epochs: global position p is entry p mod T of epoch p / T.
// Also turns a run of positions into token rows (the work the Dataset workers and the bulk exporter share).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "sampler/atom_grids.h"
#include "sampler/patch_plan.h"
#include "sampler/patch_source.h"
#include "sampler/v3_tokenizer.h"

namespace rhotrain {

class PatchStream {
 public:
  explicit PatchStream(PatchPlan plan) : plan_(std::move(plan)) {}
  const PatchPlan& plan() const { return plan_; }
  PlanEntry at(uint64_t position) const;

 private:
  PatchPlan plan_;
  mutable std::mutex mutex_;
  mutable std::map<uint64_t, std::shared_ptr<const std::vector<PlanEntry>>> epochs_;  // the last few used
};

// Token rows for a run of plan entries.
struct TokenRows {
  int row_len = 0;                 // tokens per row (PAD-filled past each sequence's end)
  std::vector<int32_t> tokens;     // rows × row_len
  std::vector<int32_t> bins;       // rows × P³ density targets
  std::vector<int32_t> lengths;    // used length of each row
  std::vector<int32_t> dens_start; // index of DENS_START in each row
  std::vector<float> atoms;        // rows × P³ ρ_atoms of the residual target (empty for the density target)
};

// Tokenizes `entries`; row_len 0 means "the longest sequence among them". With `atoms` (the residual target) the
// density tokens encode ρ − ρ_atoms and the rows carry ρ_atoms.
TokenRows tokenize_entries(const PatchSource& source, const V3Tokenizer& tokenizer,
                           const std::vector<PlanEntry>& entries, int row_len = 0, const AtomGrids* atoms = nullptr);

}  // namespace rhotrain
