// A run's configuration as typed settings, built once from a RunConfig by run_settings — the one place where
// keys are read by name — and used alike by train, eval, experiment and compare.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "models/model_config.h"
#include "sampler/training_set.h"
#include "trainer/run_config.h"

namespace rhotrain {

struct DataSettings {
  std::vector<std::string> stores;  // paths or globs
  std::string split_train;
  int patch = 6, max_len = 1024, codec_bins = 256;
  bool residual = false;  // data.target: the density tokens encode ρ − ρ_atoms rather than ρ
  std::string atoms;  // the atomic-density fit; empty: fitted on split_train and cached next to the first store file
  std::string codec;  // empty: fitted on split_train and cached next to the first store file
  PlanSpec plan;      // weighting, its mode, the electron count, M̄ and the seed (train.seed)
  int workers = 1;
  size_t cache_bytes = 0;
};

struct ModelSettings {
  std::string preset;
  ModelConfig shape;  // the preset, then the explicit model.* keys; density_bins and vocab come from the codec
  ModelConfig for_codec(int bins) const;
};

struct TrainSettings {
  int64_t steps = 0, batch_size = 0, warmup = 0, log_every = 1;
  double lr = 0, cooldown = 0, min_lr_ratio = 0, weight_decay = 0, grad_clip = 0, density_loss_power = 0, crps_weight = 0;
  bool wsd = false;  // schedule: warmup-stable-decay, else cosine
  bool mask_all = false;  // train.mask: every density slot hidden (one-shot prediction), else MaskGIT's cosine ratio
  uint64_t seed = 0;
  std::string device;  // cpu | cuda | auto
  int threads = 0;     // 0: one per core (shared by the ranks on one machine)
  std::string backend = "auto";  // of a run on several processes: gloo | nccl | auto (NCCL on CUDA, else Gloo)
  std::string precision = "auto";  // fp32 | bf16 (autocast, fp32 weights and optimizer) | auto (bf16 on CUDA, else fp32)
  std::string attention = "auto";  // fused | explicit | auto (fused where LibTorch ≥ 2.1 has it, else explicit)
  int dist_timeout_s = 600;      // a rank that fails or hangs stops the others after this long
  int max_bad_steps = 20;        // steps in a row with a non-finite loss or gradient (each skipped) before the run stops
};

struct EvalSettings {
  int64_t every = 0;              // 0: at every checkpoint
  std::vector<std::string> sets;  // evaluated during training
  std::string mode = "maskgit:1";  // maskgit:K (masked models) | free_running | teacher_forced (causal) | oracle
  std::string decode = "continuous";  // median | continuous | mean | argmax of each voxel's predicted distribution
  int batch = 64;                  // patches per forward pass
  int stride = 0;                  // 0 (or P): every voxel from one tile; < P: overlapping patches averaged
  ElectronsFrom electrons_from = ElectronsFrom::sum_z;
};

struct CheckpointSettings {
  int64_t every = 0;
  int keep = 2;
};

struct RunSettings {
  DataSettings data;
  ModelSettings model;
  TrainSettings train;
  EvalSettings eval;
  CheckpointSettings checkpoint;
};

// Throws Error on values that cannot make a run (non-positive steps or batch, heads that do not divide d_model).
RunSettings run_settings(const RunConfig& config);

}  // namespace rhotrain
