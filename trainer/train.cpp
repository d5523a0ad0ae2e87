// The training loop. train_run at the bottom reads top to bottom: where the run starts from → data (store, codec,
// tokenizer, plan, loader) → model and optimizer (fresh or from the newest checkpoint) → the run directory → the
// steps, with logs, in-loop evaluation and checkpoints → a clean stop. The pieces above it are its named steps.
#include "trainer/train.h"

#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "common/cpus.h"
#include "common/error.h"
#include "common/files.h"
#include "models/density_transformer.h"
#include "models/torch_compat.h"
#include "sampler/patch_dataset.h"
#include "sampler/training_set.h"
#include "trainer/checkpoint.h"
#include "trainer/device.h"
#include "trainer/distributed.h"
#include "trainer/evaluator.h"
#include "trainer/events.h"
#include "trainer/loss.h"
#include "trainer/lr_schedule.h"
#include "trainer/run_evaluation.h"
#include "trainer/settings.h"

namespace rhotrain {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::atomic<int> g_stop_signal{0};
void on_signal(int sig) { g_stop_signal = sig; }

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string human_time(double s) {
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%dh%02dm", int(s / 3600), int(std::fmod(s, 3600) / 60));
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%dm%02ds", int(s / 60), int(std::fmod(s, 60)));
  else std::snprintf(buf, sizeof buf, "%.0fs", s);
  return buf;
}

// ---- where the run starts from

// The newest complete checkpoint when resuming — its config may differ only in the keys a resume may change —
// or none for a fresh run, whose directory must not already hold one.
std::optional<std::string> starting_checkpoint(const RunConfig& config, const std::string& run_dir, bool resume) {
  if (!resume) {
    if (fs::exists(run_dir) && !fs::is_empty(run_dir))
      throw Error(run_dir + ": already holds a run; pass --resume to continue it or choose another --run-dir");
    return std::nullopt;
  }
  const auto from = latest_checkpoint(run_dir);
  if (!from) throw Error(run_dir + ": no complete checkpoint to resume from");
  std::string conflicts;
  for (const auto& k : config.resume_conflicts(read_checkpoint_config(*from))) conflicts += (conflicts.empty() ? "" : ", ") + k;
  if (!conflicts.empty())
    throw Error(run_dir + ": config differs from the checkpoint's in " + conflicts + " (a resume may change only " +
                RunConfig::resume_changeable_keys() + "; `rhotrain train --run-dir " + run_dir + " --resume` uses the run's own)");
  return from;
}

// ---- data

struct TrainingData {
  std::shared_ptr<MaterialStore> store;
  DensityCoding coding;
  TrainingSet set;
};

// A fit cached in a file next to the store: read when `path` exists and fits this run (`mismatch` says why not, or ""),
// else fitted by rank 0 and saved there while the other ranks wait, then read by them. A cache path that cannot be
// written (a read-only store) is said so and the run keeps its fit in the run directory; the other ranks then fit the
// same (the fits are deterministic). A path the user named must fit the run and be writable.
template <class Fit>
Fit cached_fit(const std::string& path, bool named_by_user, const std::string& what, const std::function<Fit()>& fit,
               const std::function<std::string(const Fit&)>& mismatch) {
  Distributed& group = process_group();
  std::optional<Fit> cached;  // read by rank 0 only, once
  if (group.is_main() && fs::exists(path)) cached = Fit::load(path);
  const std::string why = cached ? mismatch(*cached) : "";
  if (!why.empty() && named_by_user) throw Error(path + ": " + why);
  const bool usable = cached && why.empty();
  if (!group.any(group.is_main() && !usable)) return group.is_main() ? *cached : Fit::load(path);
  Fit result;
  if (group.is_main()) {
    std::fprintf(stderr, "%s: fitting%s (cached at %s)\n", what.c_str(), why.empty() ? "" : (" again: the cached one " + why).c_str(),
                 path.c_str());
    result = fit();
    try {
      result.save(path);
    } catch (const Error& e) {
      if (named_by_user) throw;
      std::fprintf(stderr, "%s: not cached (%s); the run directory keeps it\n", what.c_str(), e.what());
    }
  }
  group.barrier();
  if (!group.is_main()) result = fs::exists(path) ? Fit::load(path) : fit();
  return result;
}

std::string cache_path(const MaterialStore& store, const std::string& suffix) {
  return fs::path(store.paths().front()).replace_extension("").string() + suffix;
}

// The atomic-density fit named by data.atoms (fitted on the training split and cached there when the file is missing),
// or — when data.atoms is empty — cached next to the first store file as <store>.atoms-<split>.h5, so both arms share it.
// A resumed run keeps the fit it started with.
std::shared_ptr<const AtomicDensity> run_atoms(const DataSettings& d, const MaterialStore& store,
                                               const std::optional<std::string>& resume_from) {
  store.split(d.split_train);  // a missing or empty split fails here, before the cache path is chosen
  const std::string path = d.atoms.empty() ? cache_path(store, ".atoms-" + d.split_train + ".h5") : d.atoms;
  AtomicFitOptions options;
  options.threads = usable_cpus().count;
  auto atoms = std::make_shared<const AtomicDensity>(cached_fit<AtomicDensity>(
      path, !d.atoms.empty(), "atomic-density baseline on split '" + d.split_train + "'",
      [&] { return fit_atomic_density(store, d.split_train, options); },
      [&](const AtomicDensity& a) {
        return a.fit_split != d.split_train ? "was fitted on split '" + a.fit_split + "', not '" + d.split_train + "'"
               : a.widths() != options.widths ? std::string("has other widths than this build fits") : std::string();
      }));
  if (resume_from)
    if (const auto saved = read_checkpoint_atoms(*resume_from); saved && saved->fingerprint() != atoms->fingerprint())
      throw Error(path + ": atomic-density fit differs from the one in checkpoint " + *resume_from);
  return atoms;
}

// The codec named by data.codec (fitted on the training split and cached there when the file is missing), or — when
// data.codec is empty — cached next to the first store file as <store>.codec-<split>-<bins>.h5 (with -residual for the
// residual target), so both arms of the study share it. A resumed run keeps the codec it started with.
LmqCodec run_codec(const DataSettings& d, const MaterialStore& store, const AtomicDensity& atoms,
                   const std::optional<std::string>& resume_from) {
  const std::string path = d.codec.empty() ? cache_path(store, ".codec-" + d.split_train + "-" + std::to_string(d.codec_bins) +
                                                                   (d.residual ? "-residual" : "") + ".h5")
                                           : d.codec;
  const LmqCodec codec = cached_fit<LmqCodec>(
      path, !d.codec.empty(), std::to_string(d.codec_bins) + "-bin " + (d.residual ? "residual " : "") + "codec on split '" + d.split_train + "'",
      [&] { return fit_codec_on_split(store, d.split_train, d.codec_bins, 30, nullptr, d.residual ? &atoms : nullptr); },
      [&](const LmqCodec& c) {
        const std::string target = d.residual ? "residual" : "density";
        if (c.bins() != d.codec_bins)
          return "codec has " + std::to_string(c.bins()) + " bins but data.codec_bins is " + std::to_string(d.codec_bins);
        if (c.target != target) return "codec encodes the " + c.target + " but data.target is " + target;
        if (d.residual && c.atoms_fingerprint != atoms.fingerprint()) return std::string("codec's residuals were taken over another atomic-density fit");
        return std::string();
      });
  if (resume_from) {
    const LmqCodec saved = read_checkpoint_codec(*resume_from);
    if (saved.boundaries() != codec.boundaries())
      throw Error(path + ": codec differs from the one in checkpoint " + *resume_from + " (" + std::to_string(codec.bins()) +
                  " vs " + std::to_string(saved.bins()) + " bins)");
  }
  return codec;
}

// Also checks the evaluation sets, before anything is fitted: a typo in eval.sets costs no time.
TrainingData load_training_data(const DataSettings& d, const std::vector<std::string>& eval_sets,
                                const std::optional<std::string>& resume_from) {
  auto store = std::make_shared<MaterialStore>(expand_store_paths(d.stores), d.cache_bytes);
  for (const auto& set : eval_sets) store->split(set);
  const auto atoms = run_atoms(d, *store, resume_from);
  TrainingData data{store, {V3Tokenizer(d.patch, run_codec(d, *store, *atoms, resume_from), d.max_len), atoms, d.residual}, {}};
  check_eval_sets(*data.store, eval_sets, data.coding);
  data.set = load_training_set(data.store, d.split_train, data.coding.tokenizer, d.plan, d.residual ? data.coding.atoms : nullptr,
                               d.cache_bytes);
  data.set.skipped.print(std::cerr, "train");
  return data;
}

// ---- model and optimizer

// Matrices decay; norms, embeddings of single vectors, biases and the geometry slopes do not.
std::vector<torch::optim::OptimizerParamGroup> parameter_groups(DensityTransformer& model, double weight_decay) {
  std::vector<torch::Tensor> decay, no_decay;
  for (auto& p : model->named_parameters()) (p.value().dim() >= 2 ? decay : no_decay).push_back(p.value());
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions().weight_decay(weight_decay)));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(torch::optim::AdamWOptions().weight_decay(0.0)));
  return groups;
}

void set_learning_rate(torch::optim::Optimizer& opt, double lr) {
  for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
}

int64_t parameter_count(DensityTransformer& model) {
  int64_t n = 0;
  for (const auto& p : model->parameters()) n += p.numel();
  return n;
}

// ---- the run directory

// The resolved config and a one-line summary of the run on stderr; for a fresh run, the same in the event file.
void announce_run(const std::string& run_dir, const std::string& resolved, const RunSettings& s, const TrainingData& data,
                  DensityTransformer& model, torch::Device device, const std::string& threads,
                  const std::optional<std::string>& resume_from, EventWriter& events) {
  const TrainSettings& t = s.train;
  const ModelConfig& m = model->config();
  const int64_t n_params = parameter_count(model);
  const uint64_t total_sequences = static_cast<uint64_t>(t.steps) * static_cast<uint64_t>(t.batch_size);
  std::fprintf(stderr, "%s", ("--- resolved config (" + run_dir + "/config.yaml)\n" + resolved).c_str());
  std::fprintf(stderr,
               "run: %s | %zu training materials, weighting %s (%s), T = %zu patches/epoch | model %.2fM parameters "
               "(d=%d, layers %d, heads %d, geometry bias %s) | budget %lld steps x %lld = %llu sequences (%.3f epochs) "
               "| device %s, %s, %s%s\n",
               run_dir.c_str(), data.set.ids.size(), s.data.plan.weighting.c_str(), weighting_mode_name(s.data.plan.mode),
               data.set.plan->epoch_size(), n_params / 1e6, m.d_model, m.layers, m.heads, m.geometry_bias ? "on" : "off",
               static_cast<long long>(t.steps), static_cast<long long>(t.batch_size),
               static_cast<unsigned long long>(total_sequences),
               static_cast<double>(total_sequences) / static_cast<double>(data.set.plan->epoch_size()), device.str().c_str(),
               describe(model->execution()).c_str(), threads.c_str(), resume_from ? (", resuming from " + *resume_from).c_str() : "");
  if (resume_from) return;
  events.text("config", 0, "```\n" + resolved + "```");
  events.histogram("data/patches_per_material", 0, data.set.plan->expected_counts());
  events.scalar("budget/total_sequences", 0, static_cast<double>(total_sequences));
  events.scalar("model/parameters", 0, static_cast<double>(n_params));
}

// ---- the learning-rate schedule

// The schedule spans the run's planned steps (state.schedule_steps). A resumed run that had not finished follows its
// current train.steps. A finished run given more steps keeps the schedule it finished: it has decayed to its floor, and
// the added steps run at that final rate — a schedule recomputed for the new length would jump back up. Either change
// is announced.
TrainSettings learning_rate_schedule(TrainState& state, const TrainSettings& t, const std::optional<std::string>& resume_from) {
  TrainSettings schedule = t;
  if (!resume_from) {
    state.schedule_steps = t.steps;
    return schedule;
  }
  const int64_t planned = state.schedule_steps > 0 ? state.schedule_steps : read_checkpoint_config(*resume_from).get_int("train.steps");
  TrainSettings old = t;
  old.steps = planned;
  if (state.step >= planned && t.steps > planned) {
    state.schedule_steps = planned;
    std::fprintf(stderr, "note: extending a finished run from %lld to %lld steps: its learning-rate schedule ended at step %lld, so the "
                 "added steps run at its final rate %.2e\n", static_cast<long long>(planned), static_cast<long long>(t.steps),
                 static_cast<long long>(planned), learning_rate(old, planned));
  } else {
    if (t.steps != planned && state.step < t.steps)
      std::fprintf(stderr, "note: the schedule now spans %lld steps instead of %lld: the learning rate at step %lld goes from %.2e to %.2e\n",
                   static_cast<long long>(t.steps), static_cast<long long>(planned), static_cast<long long>(state.step),
                   learning_rate(old, state.step), learning_rate(t, state.step));
    state.schedule_steps = t.steps;
  }
  schedule.steps = state.schedule_steps;
  return schedule;
}

// ---- one step

struct StepResult {
  double loss, grad_norm, allreduce_seconds;  // the loss of this rank's share of the global batch
  bool updated;                               // false: a non-finite loss or gradient, and the update skipped
};

// On several ranks each computes the gradient of its share of the global batch; averaged over the ranks, it is the
// gradient of the global batch (every share has as many sequences), so clipping and the step are the same on all.
StepResult train_step(DensityTransformer& model, torch::optim::Optimizer& optimizer, const DensityLoss& density_loss,
                      const PatchBatch& batch, const TrainSettings& t, torch::Device device, Distributed& group) {
  // From pinned memory on CUDA (PatchDataset), the copies overlap the host's work up to the first read of a result.
  auto tokens = batch.tokens.to(device, /*non_blocking=*/true), dens_start = batch.dens_start.to(device, true);
  auto targets = batch.density_bins.to(device, true);
  torch::Tensor hidden;  // masked objective: the slots to predict; the causal objective predicts every slot
  if (!model->config().causal) hidden = training_mask(batch.positions, targets.size(1), t.seed, t.mask_all).to(device, true);
  const torch::Tensor atoms = batch.atoms.defined() ? batch.atoms.to(device, true) : torch::Tensor();  // the residual target
  auto loss = density_loss(model->forward(tokens, dens_start, hidden, atoms), targets, hidden, batch.loss_weight.to(device, true), atoms);
  optimizer.zero_grad();
  loss.backward();
  const double allreduce = group.average_gradients(model->parameters());
  // The norm of the averaged gradient is the same on every rank, so every rank skips or steps alike.
  const double grad_norm = torch::nn::utils::clip_grad_norm_(model->parameters(), t.grad_clip);
  const double value = loss.item<double>();
  const bool finite = std::isfinite(grad_norm);  // a rank's non-finite loss makes the averaged gradient non-finite too
  if (finite) optimizer.step();
  return {value, grad_norm, allreduce, finite};
}

// ---- logs: a line every log_every steps and perf/* scalars, over the steps since the last line

// Tokens and FLOPs are summed over the ranks; the all-reduce time (its own share of the step) is shown when there
// are several ranks.
class ThroughputWindow {
 public:
  void add(double step_seconds, double wait, double tokens, double flops, double loss, double allreduce) {
    seconds_ += step_seconds, wait_ += wait, tokens_ += tokens, flops_ += flops, loss_ += loss, allreduce_ += allreduce, ++steps_;
  }
  void report(EventWriter& events, int64_t step, int64_t steps, int64_t batch_size, double lr, int world, torch::Device device) {
    if (steps_ == 0) return;  // every step since the last line was skipped
    const double seq_s = steps_ * batch_size / seconds_, tok_s = tokens_ / seconds_;
    const double eta = (steps - step) * seconds_ / steps_;
    char ranks[64] = "", memory[48] = "";
    if (world > 1) std::snprintf(ranks, sizeof ranks, " | %d ranks, all-reduce %.1f ms/step", world, 1e3 * allreduce_ / steps_);
    const double peak_gib = device.is_cuda() ? static_cast<double>(cuda_peak_allocated_bytes(device.index())) / (1 << 30) : 0;
    if (device.is_cuda()) std::snprintf(memory, sizeof memory, " | peak memory %.1f GiB", peak_gib);
    std::fprintf(stderr, "step %lld/%lld | loss %.4f | lr %.2e | %.1f seq/s | %.0f tok/s | data wait %.1f%% | %.1f GFLOP/s%s%s | ETA %s\n",
                 static_cast<long long>(step), static_cast<long long>(steps), loss_ / steps_, lr, seq_s, tok_s,
                 100 * wait_ / seconds_, flops_ / seconds_ / 1e9, memory, ranks, human_time(eta).c_str());
    if (device.is_cuda()) events.scalar("perf/peak_memory_gib", step, peak_gib);
    events.scalar("train/loss_smoothed", step, loss_ / steps_);  // the progress line's loss: the mean since the last line
    events.scalar("perf/sequences_per_s", step, seq_s);
    events.scalar("perf/tokens_per_s", step, tok_s);
    events.scalar("perf/data_wait_share", step, wait_ / seconds_);
    events.scalar("perf/model_gflops_per_s", step, flops_ / seconds_ / 1e9);
    if (world > 1) events.scalar("perf/allreduce_ms", step, 1e3 * allreduce_ / steps_);
    *this = ThroughputWindow{};
  }

 private:
  double seconds_ = 0, wait_ = 0, tokens_ = 0, flops_ = 0, loss_ = 0, allreduce_ = 0;
  int64_t steps_ = 0;
};

}  // namespace

bool stop_requested() { return g_stop_signal != 0; }

void install_stop_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

void prepare_fits(const RunConfig& config) {
  const DataSettings d = run_settings(config).data;
  const MaterialStore store(expand_store_paths(d.stores), 0);
  run_codec(d, store, *run_atoms(d, store, std::nullopt), std::nullopt);
}

RunConfig saved_run_config(const std::string& run_dir) {
  const auto last = latest_checkpoint(run_dir);
  if (!last) throw Error(run_dir + ": no complete checkpoint to resume from");
  return read_checkpoint_config(*last);
}

bool train_run(const RunConfig& config, const std::string& run_dir, bool resume) {
  const RunSettings s = run_settings(config);
  const TrainSettings& t = s.train;
  Distributed& group = process_group();
  // One process writes a run directory at a time. A resume takes the lock before it reads a checkpoint, which a
  // running holder may be pruning; a fresh run takes it when it creates the directory.
  std::unique_ptr<WriterLock> run_lock;
  const auto lock_run_directory = [&] {
    run_lock = std::make_unique<WriterLock>((fs::path(run_dir) / ".lock").string(), "run directory " + run_dir);
  };
  if (group.is_main() && resume && fs::is_directory(run_dir)) lock_run_directory();
  const std::optional<std::string> resume_from = starting_checkpoint(config, run_dir, resume);
  group.barrier();  // every rank has looked at the run directory before rank 0 writes into it
  const std::string threads = configure_threads(t.threads);
  const torch::Device device = pick_device(t.device);

  // ---- data: store → evaluation sets → codec → tokenizer → tokenizable training materials → patch plan → stream
  const TrainingData data = load_training_data(s.data, s.eval.sets, resume_from);
  auto stream = std::make_shared<PatchStream>(*data.set.plan);

  // ---- model and optimizer, fresh or from the newest checkpoint; the same weights on every rank
  torch::manual_seed(t.seed);
  const ModelConfig model_cfg = s.model.for_codec(data.coding.tokenizer.codec().bins());
  DensityTransformer model(model_cfg);
  model->to(device);
  model->set_execution(model_execution(t.precision, t.attention, device));
  torch::optim::AdamW optimizer(parameter_groups(model, t.weight_decay), torch::optim::AdamWOptions(t.lr));
  TrainState state;
  state.epoch_size = data.set.plan->epoch_size();
  if (resume_from) {
    state = read_train_state(*resume_from);
    load_model(*resume_from, model);
    load_optimizer(*resume_from, optimizer);
  }
  group.broadcast(model->parameters());
  check_eval_settings(s.eval, model_cfg.causal);

  // ---- the run directory (rank 0 writes it): resolved config, codec, event log — only now that all inputs are good
  const std::string resolved = config.to_yaml();
  if (group.is_main()) {
    fs::create_directories(run_dir);
    if (!run_lock) lock_run_directory();
    remove_files_left_by_killed_writers((fs::path(run_dir) / "checkpoints").string());
    write_text_file_atomic((fs::path(run_dir) / "config.yaml").string(), resolved);
    if (!resume_from) data.coding.tokenizer.codec().save((fs::path(run_dir) / "codec.h5").string());
    // A run resumed from before the atomic baseline existed gets it from now on.
    if (!resume_from || !fs::exists(fs::path(run_dir) / "atoms.h5")) data.coding.atoms->save((fs::path(run_dir) / "atoms.h5").string());
  }
  const auto events = group.is_main() ? std::make_unique<EventWriter>(run_dir, state.events_file, state.events_bytes)
                                      : std::make_unique<EventWriter>();
  state.events_file = events->file_name();
  announce_run(run_dir, resolved, s, data, model, device, threads, resume_from, *events);
  if (resume_from && state.world_size != group.world())
    std::fprintf(stderr, "note: the run was trained on %d rank(s) and continues on %d: the global stream continues at sequence %llu, "
                 "but sums over the ranks may round differently\n", state.world_size, group.world(),
                 static_cast<unsigned long long>(state.position));
  state.world_size = group.world();
  if (resume_from && state.threads > 0 && state.threads != torch::get_num_threads())
    std::fprintf(stderr, "note: the run trained with %d thread(s) per rank and continues with %d: the stream and the schedule continue "
                 "exactly, but sums split over threads may round differently, so the losses may differ from an uninterrupted run in the "
                 "last digits\n", state.threads, torch::get_num_threads());
  state.threads = torch::get_num_threads();
  const TrainSettings schedule = learning_rate_schedule(state, t, resume_from);

  bool stop = false;  // a signal on any rank stops every rank after the same step
  bool evaluation_left = false;  // a stop cut an evaluation short: the resumed run does it first
  double eval_seconds = 0;
  auto evaluate = [&] {
    if (s.eval.sets.empty()) return;
    const auto seconds = evaluate_run_step(*data.store, data.coding, model, s.eval, state.step, run_dir, *events, stop_requested);
    if (!seconds) return void(stop = evaluation_left = true);
    eval_seconds += *seconds;
    std::fprintf(stderr, "evaluation so far %.0f s = %.0f %% of training time\n", eval_seconds,
                 100 * eval_seconds / std::max(1e-9, state.train_seconds));
  };
  auto save = [&] {
    state.events_bytes = events->flush();
    if (group.is_main()) save_checkpoint(run_dir, state, model, optimizer, resolved, s.checkpoint.keep);
  };
  auto checkpoint = [&] {
    if (s.eval.every == 0 && !stop) evaluate();  // a stop request should not wait for an evaluation
    save();
  };
  install_stop_handlers();
  if (resume_from && group.any(group.is_main() && evaluation_missing(s, run_dir, state.step))) {
    evaluate();
    if (!stop) save();
  }
  auto say_how_to_resume = [&] {
    std::fprintf(stderr, "stopped by signal %d after step %lld (checkpoint written%s); resume with: rhotrain train --run-dir %s --resume\n",
                 g_stop_signal.load(), static_cast<long long>(state.step),
                 evaluation_left ? ", its evaluation left for the resumed run" : "", run_dir.c_str());
  };
  if (state.step >= t.steps || stop) {
    if (stop) say_how_to_resume();
    else
      std::fprintf(stderr, "run already at step %lld of %lld: nothing to do\n", static_cast<long long>(state.step),
                   static_cast<long long>(t.steps));
    group.barrier();
    return stop;
  }

  // ---- the loader: this rank's share of each global batch of the stream, from the position the run stopped at
  const size_t local_batch = static_cast<size_t>(t.batch_size) / static_cast<size_t>(group.world());
  auto loader = torch::data::make_data_loader(
      PatchDataset(data.set.source, std::make_shared<const V3Tokenizer>(data.coding.tokenizer), stream, /*pin_memory=*/device.is_cuda(),
                   data.set.atom_grids),
      PlanSampler(static_cast<size_t>(t.batch_size), group.rank(), group.world(), state.position,
                  static_cast<uint64_t>(t.steps - state.step)),
      torch::data::DataLoaderOptions()
          .batch_size(local_batch)
          .workers(static_cast<size_t>(s.data.workers))
          .max_jobs(2 * std::max<size_t>(1, static_cast<size_t>(s.data.workers))));

  // ---- the steps
  const DensityLoss density_loss(data.coding.tokenizer.codec(), t.density_loss_power, t.crps_weight, device);
  const int64_t first_step = state.step;
  int64_t bad_in_a_row = 0;
  ThroughputWindow window;
  auto wait_start = Clock::now();
  model->train();
  for (auto& batch : *loader) {
    const auto step_start = Clock::now();
    const double wait = seconds(step_start - wait_start);
    const double lr = learning_rate(schedule, state.step);
    set_learning_rate(optimizer, lr);
    group.at_step(state.step + 1);
    const StepResult step = train_step(model, optimizer, density_loss, batch, t, device, group);
    // The global batch's loss, tokens and FLOPs, and whether any rank was asked to stop: one small all-reduce.
    const auto sums = group.sum({step.loss, static_cast<double>(batch.tokens.numel()),
                                 3 * model->forward_flops(batch.tokens.size(1)) * static_cast<double>(batch.tokens.size(0)),
                                 stop_requested() ? 1.0 : 0.0});
    const double loss = sums[0] / group.world();
    stop = sums[3] > 0;
    bad_in_a_row = step.updated ? 0 : bad_in_a_row + 1;
    state.skipped_steps += step.updated ? 0 : 1;

    ++state.step;
    state.position += static_cast<uint64_t>(t.batch_size);
    const double step_seconds = seconds(Clock::now() - step_start) + wait;
    state.train_seconds += step_seconds;
    if (!step.updated) {
      events->scalar("train/skipped_steps", state.step, static_cast<double>(state.skipped_steps));
      std::fprintf(stderr, "step %lld: loss %g, gradient norm %g: update skipped (%lld in a row, %lld in all)\n",
                   static_cast<long long>(state.step), loss, step.grad_norm, static_cast<long long>(bad_in_a_row),
                   static_cast<long long>(state.skipped_steps));
      if (bad_in_a_row >= t.max_bad_steps)
        throw Error(run_dir + ": " + std::to_string(bad_in_a_row) + " steps in a row (up to step " + std::to_string(state.step) +
                    ") had a non-finite loss or gradient (train.max_bad_steps); the last checkpoint holds the weights before them");
    } else {
      window.add(step_seconds, wait, sums[1], sums[2], loss, step.allreduce_seconds);
      events->scalar("train/loss", state.step, loss);
      events->scalar("train/lr", state.step, lr);
      events->scalar("train/grad_norm", state.step, step.grad_norm);
    }

    const bool last = state.step == t.steps;
    if (state.step % t.log_every == 0 || last) window.report(*events, state.step, t.steps, t.batch_size, lr, group.world(), device);
    if (s.eval.every > 0 && (state.step % s.eval.every == 0 || last)) evaluate();
    if (last || state.step % s.checkpoint.every == 0 || stop) checkpoint();
    if (stop && (!last || evaluation_left)) {
      say_how_to_resume();
      break;
    }
    wait_start = Clock::now();
  }
  if (state.step == t.steps && !evaluation_left)
    std::fprintf(stderr, "done: %lld steps (%lld this session) in %s of training; checkpoint %s/checkpoints/step-%lld\n",
                 static_cast<long long>(state.step), static_cast<long long>(state.step - first_step),
                 human_time(state.train_seconds).c_str(), run_dir.c_str(), static_cast<long long>(state.step));
  group.barrier();  // every rank leaves after rank 0's last checkpoint
  return state.step < t.steps || evaluation_left;
}

}  // namespace rhotrain
