// The training loop. Read top to bottom: configuration → data (store, codec, tokenizer, plan, loader)
// → model and optimizer (fresh or from the newest checkpoint) → steps → checkpoints → clean stop.
#include "trainer/train.h"

#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <optional>
#include <thread>

#include "materials/error.h"
#include "materials/files.h"
#include "materials/random.h"
#include "models/density_transformer.h"
#include "sampler/patch_dataset.h"
#include "sampler/training_set.h"
#include "trainer/checkpoint.h"
#include "trainer/cli.h"
#include "trainer/evaluator.h"
#include "trainer/events.h"

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

// Warmup, then cosine decay to min_lr_ratio·lr, or constant then a linear cooldown over the last
// `cooldown` fraction (WSD).
double learning_rate(const RunConfig& c, int64_t step) {
  const double lr = c.get_double("train.lr"), floor = lr * c.get_double("train.min_lr_ratio");
  const double total = static_cast<double>(c.get_int("train.steps")), warmup = static_cast<double>(c.get_int("train.warmup"));
  const double s = static_cast<double>(step);
  if (s < warmup) return lr * (s + 1) / warmup;
  if (c.get_string("train.schedule") == "wsd") {
    const double start = total * (1.0 - c.get_double("train.cooldown"));
    if (s < start) return lr;
    return floor + (lr - floor) * std::max(0.0, (total - s) / std::max(1.0, total - start));
  }
  const double t = std::clamp((s - warmup) / std::max(1.0, total - warmup), 0.0, 1.0);
  return floor + 0.5 * (lr - floor) * (1.0 + std::cos(M_PI * t));
}

// MaskGIT training mask: per sequence a ratio γ = cos(π/2·r), r ~ U(0,1), of its density slots hidden.
// Drawn from the sequence's stream position, so it is the same whatever the batch size, rank or resume.
torch::Tensor training_mask(const std::vector<uint64_t>& positions, int64_t slots, uint64_t seed) {
  auto hidden = torch::zeros({static_cast<int64_t>(positions.size()), slots}, torch::kBool);
  auto h = hidden.accessor<bool, 2>();
  std::vector<int64_t> order(static_cast<size_t>(slots));
  for (size_t r = 0; r < positions.size(); ++r) {
    Rng rng(mix_seed(mix_seed(seed, 0x6d61736b), positions[r]));
    const double ratio = std::cos(M_PI / 2 * rng.uniform());
    const int64_t count = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(ratio * slots)), 1, slots);
    std::iota(order.begin(), order.end(), 0);
    for (int64_t i = 0; i < count; ++i) {  // partial Fisher–Yates: the first `count` of a random order
      std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(i) + rng.below(static_cast<uint64_t>(slots - i))]);
      h[static_cast<int64_t>(r)][order[static_cast<size_t>(i)]] = true;
    }
  }
  return hidden;
}

torch::Device pick_device(const std::string& name) {
  if (name == "cuda" || (name == "auto" && torch::cuda::is_available())) {
    if (!torch::cuda::is_available()) throw Error("train.device=cuda but no CUDA device is available to LibTorch");
    return torch::Device(torch::kCUDA);
  }
  return torch::Device(torch::kCPU);
}

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

void log_eval(EventWriter& events, const EvalRecord& r) {
  const std::string p = "eval/" + r.set + "/";
  const Aggregates& a = r.aggregates;
  events.scalar(p + "nmae_per_mat_mean", r.step, a.per_mat_mean.value);
  events.scalar(p + "nmae_per_electron", r.step, a.per_electron.value);
  events.scalar(p + "nmae_median", r.step, a.median);
  events.scalar(p + "nmae_p99", r.step, a.p99);
  for (size_t d = 0; d < a.deciles.size(); ++d) {
    char tag[40];
    std::snprintf(tag, sizeof tag, "nmae_decile_%02zu", d);
    events.scalar(p + tag, r.step, a.deciles[d].per_mat_mean.value);
  }
  events.scalar(p + "floor_nmae_per_mat_mean", r.step, a.floor_per_mat_mean);
  events.scalar(p + "floor_nmae_per_electron", r.step, a.floor_per_electron);
  events.scalar(p + "baseline_nmae_per_mat_mean", r.step, a.baseline_per_mat_mean);
  events.scalar(p + "seconds", r.step, r.seconds);
}

std::string describe_config_conflicts(const std::vector<std::string>& keys) {
  std::string s;
  for (const auto& k : keys) s += (s.empty() ? "" : ", ") + k;
  return s;
}

}  // namespace

// Intra-op threads for LibTorch (default: one per core) and a single-threaded OpenBLAS underneath:
// measured here, OpenBLAS's own spinning threads competing with LibTorch's halved the step rate.
void configure_threads(int64_t requested) {
  const int n = requested > 0 ? static_cast<int>(requested) : std::max(1u, std::thread::hardware_concurrency());
  torch::set_num_threads(n);
  using SetThreads = void (*)(int);
  if (auto set_blas = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set_blas(1);
}

bool stop_requested() { return g_stop_signal != 0; }

ModelConfig model_config_for(const RunConfig& c, int bins) {
  ModelConfig m;
  apply_model_preset(c.get_string("model.preset"), m);
  auto override_int = [&](const char* key, int& field) {
    if (c.get_int(key) > 0) field = static_cast<int>(c.get_int(key));
  };
  override_int("model.d_model", m.d_model);
  override_int("model.layers", m.layers);
  override_int("model.heads", m.heads);
  m.kv_heads = m.heads;
  override_int("model.kv_heads", m.kv_heads);
  override_int("model.ffn", m.ffn);
  m.geometry_bias = c.get_bool("model.geometry_bias");
  m.attend_positions = c.get_bool("model.attend_positions");
  m.causal = c.get_string("model.objective") == "causal";
  m.patch = static_cast<int>(c.get_int("data.patch"));
  m.density_bins = bins;
  m.vocab = v3::kDensOffset + bins;
  if (m.d_model % m.heads != 0 || m.heads % m.kv_heads != 0 || (m.d_model / m.heads) % 2 != 0)
    throw Error("model: heads must divide d_model into even head sizes, and kv_heads must divide heads");
  return m;
}

std::pair<LmqCodec, std::string> codec_for(const RunConfig& c, const MaterialStore& store) {
  const int bins = static_cast<int>(c.get_int("data.codec_bins"));
  const std::string split = c.get_string("data.split_train");
  store.split(split);  // a missing or empty split fails here, before the cache path is chosen
  std::string path = c.get_string("data.codec");
  if (path.empty())
    path = fs::path(store.paths().front()).replace_extension("").string() + ".codec-" + split + "-" + std::to_string(bins) + ".h5";
  if (fs::exists(path)) {
    LmqCodec codec = LmqCodec::load(path);
    if (codec.bins() != bins)
      throw Error(path + ": codec has " + std::to_string(codec.bins()) + " bins but data.codec_bins is " + std::to_string(bins));
    return {codec, path};
  }
  std::fprintf(stderr, "codec: fitting %d bins on split '%s' (cached at %s)\n", bins, split.c_str(), path.c_str());
  LmqCodec codec = fit_codec_on_split(store, split, bins);
  codec.save(path);
  return {codec, path};
}

int cmd_train(int argc, char** argv) {
  // ---- configuration: defaults ← file ← shorthands ← --set
  cxxopts::Options opts("rhotrain train", "Train a density transformer (one run of the weighting study).");
  opts.add_options()
      ("config", "YAML run config", cxxopts::value<std::string>())
      ("run-dir", "run directory (default runs/<config name>)", cxxopts::value<std::string>())
      ("weighting", "shorthand for data.weighting", cxxopts::value<std::string>())
      ("steps", "shorthand for train.steps", cxxopts::value<int64_t>())
      ("set", "override a key: section.key=value (repeatable)", cxxopts::value<std::vector<std::string>>())
      ("resume", "continue from the newest complete checkpoint in the run directory");
  auto args = parse_command(opts, argc, argv);
  const std::string config_path = required<std::string>(args, "config");
  RunConfig config;
  config.merge_file(config_path);
  if (args.count("weighting")) config.set("data.weighting", args["weighting"].as<std::string>(), "--weighting");
  if (args.count("steps")) config.set("train.steps", std::to_string(args["steps"].as<int64_t>()), "--steps");
  if (args.count("set"))
    for (const auto& s : args["set"].as<std::vector<std::string>>()) config.set(s, "--set");
  const std::string run_dir =
      args.count("run-dir") ? args["run-dir"].as<std::string>() : "runs/" + fs::path(config_path).stem().string();
  return train_run(config, run_dir, args.count("resume") > 0, "--config " + config_path);
}

int train_run(const RunConfig& config, const std::string& run_dir, bool resume, const std::string& resume_hint) {

  // ---- refuse a run directory we would clobber, or a resume whose config changed
  std::optional<std::string> resume_from;
  if (resume) {
    resume_from = latest_checkpoint(run_dir);
    if (!resume_from) throw Error(run_dir + ": no complete checkpoint to resume from");
    const RunConfig saved = RunConfig::from_resolved_file((fs::path(*resume_from) / "config.yaml").string());
    const auto conflicts = config.resume_conflicts(saved);
    if (!conflicts.empty())
      throw Error(run_dir + ": config differs from the checkpoint's in " + describe_config_conflicts(conflicts) +
                  " (only train.steps, logging, checkpoint and loader settings may change on resume)");
  } else if (fs::exists(run_dir) && !fs::is_empty(run_dir)) {
    throw Error(run_dir + ": already holds a run; pass --resume to continue it or choose another --run-dir");
  }

  const int64_t steps = config.get_int("train.steps"), batch_size = config.get_int("train.batch_size");
  const uint64_t seed = static_cast<uint64_t>(config.get_int("train.seed"));
  if (steps <= 0 || batch_size <= 0) throw Error("train.steps and train.batch_size must be positive");
  configure_threads(config.get_int("train.threads"));
  const torch::Device device = pick_device(config.get_string("train.device"));

  // ---- data: store → codec → tokenizer → tokenizable training materials → patch plan → loader
  auto store = std::make_shared<MaterialStore>(expand_store_paths(config.get_list("data.store")),
                                               static_cast<size_t>(config.get_int("data.cache_bytes")));
  auto [codec, codec_path] = codec_for(config, *store);
  if (resume_from) {  // the run keeps the codec it started with
    const LmqCodec saved = LmqCodec::load((fs::path(*resume_from) / "codec.h5").string());
    if (saved.boundaries() != codec.boundaries())
      throw Error(codec_path + ": codec differs from the one in checkpoint " + *resume_from + " (" +
                  std::to_string(codec.bins()) + " vs " + std::to_string(saved.bins()) + " bins)");
  }
  auto tokenizer = std::make_shared<V3Tokenizer>(static_cast<int>(config.get_int("data.patch")), codec,
                                                 static_cast<int>(config.get_int("data.max_len")));
  PlanSpec plan_spec;
  plan_spec.weighting = config.get_string("data.weighting");
  plan_spec.mode = parse_weighting_mode(config.get_string("data.weighting_mode"));
  plan_spec.electrons_from = parse_electrons_from(config.get_string("data.electrons_from"));
  plan_spec.patches_per_mat = config.get_double("data.patches_per_mat");
  plan_spec.seed = seed;
  const TrainingSet data = load_training_set(store, config.get_string("data.split_train"), *tokenizer, plan_spec);
  data.skipped.print(std::cerr, "train");
  auto stream = std::make_shared<PatchStream>(*data.plan);

  // ---- model and optimizer, fresh or from the newest checkpoint
  torch::manual_seed(seed);
  const ModelConfig model_cfg = model_config_for(config, codec.bins());
  DensityTransformer model(model_cfg);
  model->to(device);
  torch::optim::AdamW optimizer(parameter_groups(model, config.get_double("train.weight_decay")),
                                torch::optim::AdamWOptions(config.get_double("train.lr")));
  TrainState state;
  state.epoch_size = data.plan->epoch_size();
  if (resume_from) {
    state = read_train_state(*resume_from);
    load_model(*resume_from, model);
    load_optimizer(*resume_from, optimizer);
  }

  // ---- the run directory: resolved config, codec, event log (created only now that all inputs are good)
  fs::create_directories(run_dir);
  const std::string resolved = config.to_yaml();
  write_text_file_atomic((fs::path(run_dir) / "config.yaml").string(), resolved);
  const std::string run_codec = (fs::path(run_dir) / "codec.h5").string();
  if (!resume_from) codec.save(run_codec);
  EventWriter events(run_dir, state.events_file, state.events_bytes);
  state.events_file = events.file_name();

  int64_t n_params = 0;
  for (const auto& p : model->parameters()) n_params += p.numel();
  const uint64_t total_sequences = static_cast<uint64_t>(steps) * static_cast<uint64_t>(batch_size);
  std::fprintf(stderr, "%s", ("--- resolved config (" + run_dir + "/config.yaml)\n" + resolved).c_str());
  std::fprintf(stderr,
               "run: %s | %zu training materials, weighting %s (%s), T = %zu patches/epoch | model %.2fM parameters "
               "(d=%d, layers %d, heads %d, geometry bias %s) | budget %lld steps x %lld = %llu sequences (%.3f epochs) "
               "| device %s, %d threads%s\n",
               run_dir.c_str(), data.ids.size(), plan_spec.weighting.c_str(), config.get_string("data.weighting_mode").c_str(),
               data.plan->epoch_size(), n_params / 1e6, model_cfg.d_model, model_cfg.layers, model_cfg.heads,
               model_cfg.geometry_bias ? "on" : "off", static_cast<long long>(steps), static_cast<long long>(batch_size),
               static_cast<unsigned long long>(total_sequences),
               static_cast<double>(total_sequences) / static_cast<double>(data.plan->epoch_size()), device.str().c_str(),
               torch::get_num_threads(), resume_from ? (", resuming from " + *resume_from).c_str() : "");
  if (!resume_from) {
    events.text("config", 0, "```\n" + resolved + "```");
    events.histogram("data/patches_per_material", 0, data.plan->expected_counts());
    events.scalar("budget/total_sequences", 0, static_cast<double>(total_sequences));
    events.scalar("model/parameters", 0, static_cast<double>(n_params));
  }

  if (state.step >= steps) {
    std::fprintf(stderr, "run already at step %lld of %lld: nothing to do\n", static_cast<long long>(state.step),
                 static_cast<long long>(steps));
    return 0;
  }
  auto loader = torch::data::make_data_loader(
      PatchDataset(data.source, tokenizer, stream),
      PlanSampler(static_cast<size_t>(batch_size), 0, 1, state.position, static_cast<uint64_t>(steps - state.step)),
      torch::data::DataLoaderOptions()
          .batch_size(static_cast<size_t>(batch_size))
          .workers(static_cast<size_t>(config.get_int("data.workers")))
          .max_jobs(2 * std::max<size_t>(1, static_cast<size_t>(config.get_int("data.workers")))));

  // In-loop evaluation of the fixed sets (val_200 by default): JSON per checkpoint, TensorBoard scalars, a table.
  EvalSettings eval_settings;
  eval_settings.mode = config.get_string("eval.mode");
  eval_settings.decode = config.get_string("eval.decode");
  eval_settings.batch = static_cast<int>(config.get_int("eval.batch_size"));
  eval_settings.electrons_from = plan_spec.electrons_from;
  check_eval_settings(eval_settings, &model);
  double eval_seconds = 0;
  auto evaluate = [&] {
    if (config.get_list("eval.sets").empty()) return;
    for (const auto& set : config.get_list("eval.sets")) {
      SkipReport skipped;
      const EvalRecord rec = evaluate_set(*store, set, *tokenizer, &model, eval_settings, device, state.step, skipped);
      skipped.print(std::cerr, "eval " + set);
      const fs::path dir = fs::path(run_dir) / "eval" / set;
      fs::create_directories(dir);
      write_text_file_atomic((dir / ("step-" + std::to_string(state.step) + ".json")).string(), eval_record_json(rec));
      log_eval(events, rec);
      print_eval_table(std::cerr, rec);
      eval_seconds += rec.seconds;
    }
    std::fprintf(stderr, "evaluation so far %.0f s = %.0f %% of training time\n", eval_seconds,
                 100 * eval_seconds / std::max(1e-9, state.train_seconds));
  };
  const int64_t eval_every = config.get_int("eval.every");
  auto checkpoint = [&] {
    if (eval_every == 0 && !g_stop_signal) evaluate();  // a stop request should not wait for an evaluation
    state.events_bytes = events.flush();
    save_checkpoint(run_dir, state, model, optimizer, run_codec, resolved, static_cast<int>(config.get_int("checkpoint.keep")));
  };
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  // ---- the steps
  const int64_t slots = static_cast<int64_t>(tokenizer->patch_voxels());
  const int64_t log_every = std::max<int64_t>(1, config.get_int("train.log_every"));
  const double grad_clip = config.get_double("train.grad_clip");
  // NMAE counts absolute errors, so a voxel's miss matters in proportion to its density; weighting each
  // slot's cross-entropy by ρ^p (p = train.density_loss_power, 0 = plain) spends the model where NMAE looks.
  // (Levels are clamped at a tiny positive value: a codec fitted on real densities can have a level ≤ 0.)
  const auto bin_weight = torch::tensor(std::vector<float>(codec.levels().begin(), codec.levels().end()))
                              .clamp_min(1e-12)
                              .pow(config.get_double("train.density_loss_power"))
                              .to(device);
  const int64_t first_step = state.step;
  double window_seconds = 0, window_wait = 0, window_tokens = 0, window_flops = 0, loss_sum = 0;
  int64_t window_steps = 0;
  auto wait_start = Clock::now();
  model->train();
  for (auto& batch : *loader) {
    const auto step_start = Clock::now();
    const double wait = seconds(step_start - wait_start);
    const double lr = learning_rate(config, state.step);
    set_learning_rate(optimizer, lr);

    auto tokens = batch.tokens.to(device), dens_start = batch.dens_start.to(device);
    auto targets = batch.density_bins.to(device);
    torch::Tensor hidden, loss_slots;
    if (!model_cfg.causal) {
      hidden = training_mask(batch.positions, slots, seed).to(device);
      loss_slots = hidden.to(torch::kFloat32);
    } else {
      loss_slots = torch::ones({tokens.size(0), slots}, torch::dtype(torch::kFloat32).device(device));
    }
    auto logits = model->forward(tokens, dens_start, hidden);
    auto ce = torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), targets.reshape(-1),
                                                   torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone))
                  .view({tokens.size(0), slots});
    // Loss per sequence = mean CE over its loss positions (× ρ^p); batch loss = mean over sequences (× w_i in loss mode).
    loss_slots = loss_slots * bin_weight.index({targets});
    auto per_sequence = (ce * loss_slots).sum(1) / loss_slots.sum(1);
    auto loss = (per_sequence * batch.loss_weight.to(device)).mean();
    optimizer.zero_grad();
    loss.backward();
    const double grad_norm = torch::nn::utils::clip_grad_norm_(model->parameters(), grad_clip);
    optimizer.step();

    ++state.step;
    state.position = batch.positions.front() + static_cast<uint64_t>(batch_size);
    const double step_seconds = seconds(Clock::now() - step_start) + wait;
    state.train_seconds += step_seconds;
    const double loss_value = loss.item<double>();
    window_seconds += step_seconds, window_wait += wait, ++window_steps, loss_sum += loss_value;
    window_tokens += static_cast<double>(tokens.numel());
    window_flops += 3 * model->forward_flops(tokens.size(1)) * static_cast<double>(tokens.size(0));
    events.scalar("train/loss", state.step, loss_value);
    events.scalar("train/lr", state.step, lr);
    events.scalar("train/grad_norm", state.step, grad_norm);

    if (state.step % log_every == 0 || state.step == steps) {
      const double seq_s = window_steps * batch_size / window_seconds, tok_s = window_tokens / window_seconds;
      const double eta = (steps - state.step) * window_seconds / window_steps;
      std::fprintf(stderr, "step %lld/%lld | loss %.4f | lr %.2e | %.1f seq/s | %.0f tok/s | data wait %.1f%% | %.1f GFLOP/s | ETA %s\n",
                   static_cast<long long>(state.step), static_cast<long long>(steps), loss_sum / window_steps, lr, seq_s,
                   tok_s, 100 * window_wait / window_seconds, window_flops / window_seconds / 1e9, human_time(eta).c_str());
      events.scalar("perf/sequences_per_s", state.step, seq_s);
      events.scalar("perf/tokens_per_s", state.step, tok_s);
      events.scalar("perf/data_wait_share", state.step, window_wait / window_seconds);
      events.scalar("perf/model_gflops_per_s", state.step, window_flops / window_seconds / 1e9);
      window_seconds = window_wait = window_tokens = window_flops = loss_sum = 0;
      window_steps = 0;
    }
    const bool last = state.step == steps;
    if (eval_every > 0 && (state.step % eval_every == 0 || last)) evaluate();
    if (last || state.step % std::max<int64_t>(1, config.get_int("checkpoint.every")) == 0 || g_stop_signal) checkpoint();
    if (g_stop_signal && !last) {
      std::fprintf(stderr, "stopped by signal %d after step %lld (checkpoint written); resume with: rhotrain train %s --run-dir %s --resume\n",
                   g_stop_signal.load(), static_cast<long long>(state.step), resume_hint.c_str(), run_dir.c_str());
      return 0;
    }
    wait_start = Clock::now();
  }
  std::fprintf(stderr, "done: %lld steps (%lld this session) in %s of training; checkpoint %s/checkpoints/step-%lld\n",
               static_cast<long long>(state.step), static_cast<long long>(state.step - first_step),
               human_time(state.train_seconds).c_str(), run_dir.c_str(), static_cast<long long>(state.step));
  return 0;
}

}  // namespace rhotrain
