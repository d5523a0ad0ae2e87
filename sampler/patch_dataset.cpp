#include "sampler/patch_dataset.h"

#include "common/error.h"

namespace rhotrain {

PatchBatch PatchDataset::get_batch(std::vector<uint64_t> positions) {
  std::vector<PlanEntry> entries;
  entries.reserve(positions.size());
  for (uint64_t p : positions) entries.push_back(stream_->at(p));
  const TokenRows rows = tokenize_entries(*source_, *tokenizer_, entries, 0, atoms_.get());

  const int64_t B = static_cast<int64_t>(entries.size()), L = rows.row_len, nv = tokenizer_->patch_voxels();
  PatchBatch batch;
  batch.tokens = torch::from_blob(const_cast<int32_t*>(rows.tokens.data()), {B, L}, torch::kInt32).to(torch::kInt64);
  batch.targets = torch::full({B, L}, kIgnoreIndex, torch::kInt64);
  batch.loss_mask = torch::zeros({B, L}, torch::kBool);
  batch.density_bins = torch::from_blob(const_cast<int32_t*>(rows.bins.data()), {B, nv}, torch::kInt32).to(torch::kInt64);
  batch.loss_weight = torch::empty({B}, torch::kFloat32);
  batch.dens_start = torch::empty({B}, torch::kInt64);
  batch.material = torch::empty({B}, torch::kInt64);
  auto targets = batch.targets.accessor<int64_t, 2>();
  auto mask = batch.loss_mask.accessor<bool, 2>();
  for (int64_t r = 0; r < B; ++r) {
    const int64_t first = rows.dens_start[r] + 1;
    for (int64_t v = 0; v < nv; ++v) {
      targets[r][first + v] = rows.bins[r * nv + v];
      mask[r][first + v] = true;
    }
    batch.loss_weight[r] = stream_->plan().loss_weight(entries[r].material);
    batch.dens_start[r] = rows.dens_start[r];
    batch.material[r] = static_cast<int64_t>(entries[r].material);
  }
  if (atoms_) batch.atoms = torch::from_blob(const_cast<float*>(rows.atoms.data()), {B, nv}, torch::kFloat32).clone();
  batch.positions = std::move(positions);
  if (pin_memory_) {
    batch.tokens = batch.tokens.pin_memory(), batch.density_bins = batch.density_bins.pin_memory();
    batch.loss_weight = batch.loss_weight.pin_memory(), batch.dens_start = batch.dens_start.pin_memory();
    if (atoms_) batch.atoms = batch.atoms.pin_memory();
  }
  return batch;
}

PlanSampler::PlanSampler(size_t global_batch, int rank, int world_size, uint64_t start_position, uint64_t batches)
    : global_(global_batch), rank_(rank), start_(start_position), position_(start_position),
      end_(start_position + batches * global_batch) {
  if (world_size < 1 || rank < 0 || rank >= world_size) throw Error("rank must be in 0..world_size-1");
  if (global_batch == 0 || global_batch % static_cast<size_t>(world_size) != 0)
    throw Error("global batch " + std::to_string(global_batch) + " must be a positive multiple of world size " +
                std::to_string(world_size));
  local_ = global_batch / static_cast<size_t>(world_size);
}

void PlanSampler::reset(torch::optional<size_t>) { position_ = start_; }

torch::optional<std::vector<uint64_t>> PlanSampler::next(size_t) {
  if (position_ >= end_) return torch::nullopt;
  std::vector<uint64_t> out(local_);
  const uint64_t first = position_ + static_cast<uint64_t>(rank_) * local_;
  for (size_t i = 0; i < local_; ++i) out[i] = first + i;
  position_ += global_;
  return out;
}

void PlanSampler::save(torch::serialize::OutputArchive& archive) const {
  archive.write("position", torch::tensor(static_cast<int64_t>(position_)));
}

void PlanSampler::load(torch::serialize::InputArchive& archive) {
  torch::Tensor t;
  archive.read("position", t);
  position_ = static_cast<uint64_t>(t.item<int64_t>());
}

}  // namespace rhotrain
