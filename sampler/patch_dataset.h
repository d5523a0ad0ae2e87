// The torch::data side of the sampler: a Dataset that turns stream positions into padded token batches,
// and a Sampler that hands out consecutive global batches (this rank's share of each) from any position.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sampler/patch_stream.h"

namespace rhotrain {

constexpr int64_t kIgnoreIndex = -100;  // targets at non-density positions

struct PatchBatch {
  torch::Tensor tokens;       // [B, L] int64, PAD past each sequence; L = longest sequence in the batch
  torch::Tensor targets;      // [B, L] int64: the density bin at density slots, kIgnoreIndex elsewhere
  torch::Tensor loss_mask;    // [B, L] bool: density slots
  torch::Tensor density_bins; // [B, P³] int64: the targets in slot order
  torch::Tensor loss_weight;  // [B] float32: 1, or w_i / mean(w) in loss-weighting mode
  torch::Tensor dens_start;   // [B] int64: index of DENS_START
  torch::Tensor material;     // [B] int64: index into the training list
  torch::Tensor atoms;        // [B, P³] float32: ρ_atoms at the density slots (residual target; undefined otherwise)
  std::vector<uint64_t> positions;  // stream positions of the rows
};

class PatchDataset : public torch::data::datasets::BatchDataset<PatchDataset, PatchBatch, std::vector<uint64_t>> {
 public:
  // Shared state: DataLoader workers each copy the Dataset, and the copies share source, tokenizer and stream.
  // pin_memory (for a CUDA run): the workers put what the step copies to the device in page-locked memory, so the copy
  // can run asynchronously.
  // atoms (the residual target): the density tokens encode ρ − ρ_atoms, and batches carry ρ_atoms.
  PatchDataset(std::shared_ptr<const PatchSource> source, std::shared_ptr<const V3Tokenizer> tokenizer,
               std::shared_ptr<const PatchStream> stream, bool pin_memory = false, std::shared_ptr<const AtomGrids> atoms = nullptr)
      : source_(std::move(source)), tokenizer_(std::move(tokenizer)), stream_(std::move(stream)), pin_memory_(pin_memory),
        atoms_(std::move(atoms)) {}

  PatchBatch get_batch(std::vector<uint64_t> positions) override;
  torch::optional<size_t> size() const override { return torch::nullopt; }  // endless

 private:
  std::shared_ptr<const PatchSource> source_;
  std::shared_ptr<const V3Tokenizer> tokenizer_;
  std::shared_ptr<const PatchStream> stream_;
  bool pin_memory_;
  std::shared_ptr<const AtomGrids> atoms_;
};

// Global batch s covers stream positions [start + s·B, start + (s+1)·B); rank r takes the r-th of
// world_size equal slices of it, so ranks are disjoint and follow the same global order.
class PlanSampler : public torch::data::samplers::Sampler<std::vector<uint64_t>> {
 public:
  PlanSampler(size_t global_batch, int rank, int world_size, uint64_t start_position, uint64_t batches);

  void reset(torch::optional<size_t> new_size = torch::nullopt) override;  // rewinds to the start position
  torch::optional<std::vector<uint64_t>> next(size_t batch_size) override;
  void save(torch::serialize::OutputArchive& archive) const override;
  void load(torch::serialize::InputArchive& archive) override;

  uint64_t position() const { return position_; }
  size_t local_batch() const { return local_; }

 private:
  size_t global_, local_;
  int rank_;
  uint64_t start_, position_, end_;
};

}  // namespace rhotrain
