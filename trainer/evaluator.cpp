#include "trainer/evaluator.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "common/error.h"
#include "common/text.h"
#include "metrics/tiling.h"
#include "models/density_transformer.h"
#include "trainer/checkpoint.h"
#include "trainer/density_decoder.h"
#include "trainer/device.h"
#include "trainer/distributed.h"

namespace rhotrain {
namespace {

int maskgit_steps(const std::string& mode) {
  if (mode.rfind("maskgit:", 0) != 0) return 0;
  const int k = std::atoi(mode.c_str() + 8);
  if (k < 1) throw Error("eval mode '" + mode + "': maskgit needs K ≥ 1 steps (maskgit:1 is one shot)");
  return k;
}

// Predicted values [b, V] for a batch of sequences of one material (all the same length).
torch::Tensor predict(DensityTransformer& model, torch::Tensor tokens, const torch::Tensor& dens_start,
                      const torch::Tensor& cells, const EvalSettings& s) {
  const int64_t b = tokens.size(0), V = static_cast<int64_t>(std::pow(model->config().patch, 3));
  if (s.mode == "teacher_forced") {  // reads the ground-truth density tokens: an upper bound, labelled as such
    auto probs = torch::softmax(model->forward(tokens, dens_start, {}), -1);
    return decode_values(probs, cells, s.decode);
  }
  if (s.mode == "free_running") {  // the honest causal mode: each voxel conditioned on the model's own earlier choices
    DensityTransformerImpl::DecodeCache cache;
    const auto& levels = cells[0];
    const auto midpoints = (levels.narrow(0, 1, levels.size(0) - 1) + levels.narrow(0, 0, levels.size(0) - 1)) / 2;
    auto logits = model->start_decoding(tokens, dens_start[0].item<int64_t>(), cache);
    std::vector<torch::Tensor> values;
    for (int64_t t = 0; t < V; ++t) {
      values.push_back(decode_values(torch::softmax(logits, -1), cells, s.decode));
      if (t + 1 < V) logits = model->decode_next(torch::bucketize(values.back(), midpoints) + v3::kDensOffset, cache);
    }
    return torch::stack(values, 1);
  }
  // MaskGIT: start from an all-hidden patch; each step commits the most confident hidden slots so that
  // cos(π/2 · k/K) of them remain hidden after step k (none after the last).
  const int K = maskgit_steps(s.mode);
  auto dev = tokens.device();
  auto hidden = torch::ones({b, V}, torch::dtype(torch::kBool).device(dev));
  auto values = torch::zeros({b, V}, torch::dtype(torch::kFloat32).device(dev));
  auto slots = dens_start.unsqueeze(1) + 1 + torch::arange(V, torch::dtype(torch::kInt64).device(dev)).unsqueeze(0);
  int64_t still_hidden = V;
  for (int k = 1; k <= K; ++k) {
    auto probs = torch::softmax(model->forward(tokens, dens_start, hidden), -1);
    auto v = decode_values(probs, cells, s.decode);
    auto [conf, best] = probs.max(-1);
    const int64_t keep = k == K ? 0 : static_cast<int64_t>(std::floor(V * std::cos(M_PI / 2 * k / K)));
    const int64_t commit = still_hidden - keep;
    if (commit <= 0) continue;
    auto order = torch::where(hidden, conf, torch::full_like(conf, -1.0)).argsort(-1, true).narrow(-1, 0, commit);
    values.scatter_(1, order, v.gather(1, order));
    hidden.scatter_(1, order, false);
    tokens = tokens.scatter(1, slots.gather(1, order), best.gather(1, order) + v3::kDensOffset);
    still_hidden = keep;
  }
  return values;
}

}  // namespace

void check_eval_settings(const EvalSettings& s, bool causal) {
  if (s.decode != "median" && s.decode != "continuous" && s.decode != "mean" && s.decode != "argmax")
    throw Error("eval decode must be median, continuous, mean or argmax, not '" + s.decode + "'");
  if (s.mode == "oracle") return;
  if (s.mode == "teacher_forced" && !causal) throw Error("eval mode teacher_forced is for causal models; use maskgit:K");
  if (s.mode == "free_running" && !causal) throw Error("eval mode free_running is for causal models; use maskgit:K");
  if (s.mode.rfind("maskgit:", 0) == 0 && causal)
    throw Error("eval mode maskgit:K is for masked models; use free_running or teacher_forced");
  if (s.mode == "teacher_forced" || s.mode == "free_running") return;
  if (s.mode.rfind("maskgit:", 0) != 0)
    throw Error("unknown eval mode '" + s.mode + "' (maskgit:K, free_running, teacher_forced, oracle)");
  maskgit_steps(s.mode);
}

void check_eval_sets(const MaterialStore& store, const std::vector<std::string>& sets, const V3Tokenizer& tok) {
  for (const auto& set : sets) {
    SkipReport skipped;
    const auto meta = [&](const std::string& id) -> const MaterialMeta& { return store.meta(id); };
    if (tokenizable_ids(store.split(set), meta, tok, skipped).empty())
      throw Error("eval set '" + set + "': none of its " + count_of(skipped.considered, "material") +
                  " can be tokenized (see eval.sets, data.max_len)");
  }
}

namespace {

// The predicted grid of one material: every tile through the model (or, for the oracle, its true tokens through
// the codec), stitched so that each tile contributes only its used voxels and every voxel is written exactly once.
std::vector<float> predict_grid(const Material& m, const V3Tokenizer& tok, DensityTransformer* model, const EvalSettings& s,
                                const torch::Tensor& cells) {
  const int P = tok.patch(), V = tok.patch_voxels(), L = tok.sequence_length(m.n_atoms());
  const LmqCodec& codec = tok.codec();
  const auto tiles = grid_tiles(m.grid, P);
  std::vector<float> predicted(m.density.size()), patch(static_cast<size_t>(V));
  for (size_t first = 0; first < tiles.size(); first += static_cast<size_t>(s.batch)) {
    const size_t b = std::min(tiles.size() - first, static_cast<size_t>(s.batch));
    std::vector<int32_t> tokens(b * static_cast<size_t>(L)), bins(b * static_cast<size_t>(V));
    for (size_t r = 0; r < b; ++r) {
      const Tile& t = tiles[first + r];
      const Grid origin{t.axis[0].start, t.axis[1].start, t.axis[2].start};
      gather_patch(m.grid, m.density.data(), origin, P, patch.data());
      tok.encode(m, origin, patch.data(), tokens.data() + r * L, bins.data() + r * V);
    }
    std::vector<float> values(b * static_cast<size_t>(V));
    if (!model) {
      for (size_t i = 0; i < values.size(); ++i) values[i] = codec.decode(bins[i]);
    } else {
      const auto device = cells.device();
      auto t = torch::from_blob(tokens.data(), {static_cast<int64_t>(b), L}, torch::kInt32).to(torch::kInt64).to(device);
      auto ds = torch::full({static_cast<int64_t>(b)}, v3::dens_start(m.n_atoms()), torch::dtype(torch::kInt64).device(device));
      auto out = predict(*model, t, ds, cells, s).to(torch::kCPU).contiguous();
      std::copy(out.data_ptr<float>(), out.data_ptr<float>() + values.size(), values.begin());
    }
    for (size_t r = 0; r < b; ++r) {
      const Tile& t = tiles[first + r];
      for (int a = t.axis[0].first_used; a < t.axis[0].first_used + t.axis[0].used; ++a)
        for (int bb = t.axis[1].first_used; bb < t.axis[1].first_used + t.axis[1].used; ++bb)
          for (int c = t.axis[2].first_used; c < t.axis[2].first_used + t.axis[2].used; ++c) {
            const size_t i = static_cast<size_t>((t.axis[0].start + a) % m.grid[0]);
            const size_t j = static_cast<size_t>((t.axis[1].start + bb) % m.grid[1]);
            const size_t k = static_cast<size_t>((t.axis[2].start + c) % m.grid[2]);
            predicted[(i * m.grid[1] + j) * m.grid[2] + k] = values[r * V + (static_cast<size_t>(a) * P + bb) * P + c];
          }
    }
  }
  return predicted;
}

// NMAE of the prediction, the codec floor and the uniform-density baseline (∫ρ dV / V everywhere) for one material.
MaterialScore score(const Material& m, const std::vector<float>& predicted, const LmqCodec& codec, ElectronsFrom electrons_from) {
  std::vector<float> floor_grid(m.density.size()),
      baseline(m.density.size(), static_cast<float>(m.n_electrons_grid / cell_volume(m.lattice)));
  for (size_t i = 0; i < m.density.size(); ++i) floor_grid[i] = codec.decode(codec.encode(m.density[i]));
  MaterialScore sc;
  sc.id = m.id;
  sc.n_atoms = static_cast<int>(m.n_atoms());
  sc.n_e = electron_count(m.n_electrons, m.n_electrons_grid, electrons_from);
  sc.grid = m.grid;
  const auto err = abs_error_sums(predicted.data(), m.density.data(), m.density.size());
  sc.sum_abs_err = err[0], sc.sum_abs_true = err[1], sc.nmae = err[0] / err[1];
  const auto fl = abs_error_sums(floor_grid.data(), m.density.data(), m.density.size());
  sc.floor_nmae = fl[0] / fl[1];
  const auto bl = abs_error_sums(baseline.data(), m.density.data(), m.density.size());
  sc.baseline_nmae = bl[0] / bl[1];
  return sc;
}

}  // namespace

std::optional<EvalRecord> evaluate_set(const MaterialStore& store, const std::string& set, const V3Tokenizer& tok,
                                       DensityTransformer* model, const EvalSettings& s, int64_t step, SkipReport& skipped,
                                       const std::function<bool()>& stop) {
  if (!model && s.mode != "oracle") throw Error("eval mode '" + s.mode + "' needs a model");
  if (model) check_eval_settings(s, (*model)->config().causal);
  const torch::Device device = model ? (*model)->parameters().front().device() : torch::Device(torch::kCPU);
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  torch::NoGradGuard no_grad;
  if (model) (*model)->eval();
  const LmqCodec& codec = tok.codec();
  const auto cells = bin_cells(codec, device);

  EvalRecord rec;
  rec.set = set, rec.mode = s.mode, rec.decode = model ? s.decode : "level", rec.step = step;
  const auto ids = tokenizable_ids(store.split(set), [&](const std::string& id) -> const MaterialMeta& { return store.meta(id); },
                                   tok, skipped);
  // On several ranks each scores every world-th material and the rows are gathered in the set's order: each
  // material's prediction depends on that material alone, so the rows are those of one process.
  Distributed& group = process_group();
  const size_t world = static_cast<size_t>(group.world()), rank = static_cast<size_t>(group.rank());
  const size_t rounds = (ids.size() + world - 1) / world;
  std::vector<MaterialScore> mine;
  double next_report = 10;  // seconds: a line every ten seconds, so a long evaluation is not silent
  for (size_t round = 0; round < rounds; ++round) {
    if (stop && group.any(stop())) {
      if (model) (*model)->train();
      return std::nullopt;
    }
    if (const size_t i = round * world + rank; i < ids.size()) {
      const Material m = store.read(ids[i]);
      mine.push_back(score(m, predict_grid(m, tok, model, s, cells), codec, s.electrons_from));
    }
    const size_t done = std::min(ids.size(), (round + 1) * world);
    if (elapsed() >= next_report && done < ids.size()) {
      std::fprintf(stderr, "eval %s: %zu/%zu materials, %.0f s, ETA %.0f s%s\n", set.c_str(), done, ids.size(), elapsed(),
                   elapsed() / static_cast<double>(done) * static_cast<double>(ids.size() - done),
                   stop ? " (Ctrl-C stops it after the current material)" : "");
      next_report = elapsed() + 10;
    }
  }
  if (world == 1) {
    rec.materials = std::move(mine);
  } else {
    const auto shares = group.all_gather(material_rows_json(mine));
    std::vector<std::vector<MaterialScore>> rows;
    for (const auto& share : shares) rows.push_back(material_rows_from_json(share));
    for (size_t i = 0; i < ids.size(); ++i) rec.materials.push_back(rows[i % world][i / world]);
  }
  if (rec.materials.empty()) throw Error("eval set '" + set + "': no material can be scored");
  rec.aggregates = aggregate(rec.materials);
  rec.seconds = elapsed();
  if (model) (*model)->train();
  return rec;
}

std::string eval_record_dir(const std::string& run_dir, const std::string& split, const std::vector<std::string>& other_store) {
  const std::string folder =
      other_store.empty() ? split : split + "@" + std::filesystem::path(other_store.front()).stem().string();
  return (std::filesystem::path(run_dir) / "eval" / folder).string();
}

EvalRecord evaluate_checkpoint(const CheckpointEvalRequest& request, SkipReport& skipped) {
  const std::string checkpoint = find_checkpoint(request.run_dir, request.step);
  const RunSettings run = run_settings(read_checkpoint_config(checkpoint));
  const LmqCodec codec = read_checkpoint_codec(checkpoint);
  DensityTransformer model(run.model.for_codec(codec.bins()));
  load_model(checkpoint, model);
  const MaterialStore store(expand_store_paths(request.stores.empty() ? run.data.stores : request.stores), 0);
  const V3Tokenizer tok(run.data.patch, codec, run.data.max_len);
  EvalSettings settings = run.eval;
  if (!request.mode.empty()) settings.mode = request.mode;
  if (!request.decode.empty()) settings.decode = request.decode;
  configure_threads(run.train.threads);
  return *evaluate_set(store, request.set, tok, &model, settings, read_train_state(checkpoint).step, skipped);
}

EvalRecord evaluate_oracle(const MaterialStore& store, const std::string& set, const V3Tokenizer& tok, SkipReport& skipped) {
  EvalSettings s;
  s.mode = "oracle";
  return *evaluate_set(store, set, tok, nullptr, s, 0, skipped);
}

void check_oracle_equals_floor(const EvalRecord& oracle) {
  size_t mismatched = 0;
  for (const auto& m : oracle.materials) mismatched += m.nmae != m.floor_nmae;
  if (mismatched)
    throw Error("oracle NMAE differs from the codec floor for " + std::to_string(mismatched) + " of " +
                std::to_string(oracle.materials.size()) + " materials: tiling or stitching is broken");
}

}  // namespace rhotrain
