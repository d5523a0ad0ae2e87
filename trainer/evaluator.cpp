#include "trainer/evaluator.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "common/error.h"
#include "common/text.h"
#include "metrics/tiling.h"
#include "models/density_transformer.h"
#include "trainer/device.h"
#include "trainer/distributed.h"

namespace rhotrain {

void check_eval_sets(const MaterialStore& store, const std::vector<std::string>& sets, const DensityCoding& coding) {
  for (const auto& set : sets) {
    SkipReport skipped;
    const auto meta = [&](const std::string& id) -> const MaterialMeta& { return store.meta(id); };
    if (tokenizable_ids(store.split(set), meta, coding.tokenizer, skipped, coding.residual_over()).empty())
      throw Error("eval set '" + set + "': none of its " + count_of(skipped.considered, "material") +
                  " can be tokenized (see eval.sets, data.max_len)");
  }
}

namespace {

// NMAE of the prediction, the codec floor, the atomic baseline (`atoms`: ρ_atoms, or empty when not available) and the
// uniform-density baseline (∫ρ dV / V everywhere) for one material.
MaterialScore score(const Material& m, const std::vector<float>& predicted, const DensityCoding& coding, const std::vector<float>& atoms,
                    ElectronsFrom electrons_from) {
  const LmqCodec& codec = coding.tokenizer.codec();
  std::vector<float> floor_grid(m.density.size()),
      baseline(m.density.size(), static_cast<float>(m.n_electrons_grid / cell_volume(m.lattice)));
  for (size_t i = 0; i < m.density.size(); ++i) floor_grid[i] = codec_round_trip(codec, m.density[i], coding.residual ? atoms[i] : 0.0f);
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
  sc.uniform_nmae = bl[0] / bl[1];
  sc.seam_ratio = seam_ratio(m.grid, predicted.data(), coding.tokenizer.patch()) / seam_ratio(m.grid, m.density.data(), coding.tokenizer.patch());
  sc.atomic_nmae = std::numeric_limits<double>::quiet_NaN();
  if (!atoms.empty()) {
    const auto at = abs_error_sums(atoms.data(), m.density.data(), m.density.size());
    sc.atomic_nmae = at[0] / at[1];
  }
  return sc;
}

}  // namespace

std::optional<EvalRecord> evaluate_set(const MaterialStore& store, const std::string& set, const DensityCoding& coding,
                                       DensityTransformer* model, const EvalSettings& s, int64_t step, SkipReport& skipped,
                                       const std::function<bool()>& stop, const PredictionSink& on_prediction) {
  if (!model && s.mode != "oracle") throw Error("eval mode '" + s.mode + "' needs a model");
  if (model) check_eval_settings(s, (*model)->config().causal);
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  torch::NoGradGuard no_grad;
  if (model) (*model)->eval();

  EvalRecord rec;
  rec.set = set, rec.mode = s.mode, rec.decode = model ? s.decode : "level", rec.step = step;
  rec.stride = s.stride > 0 && s.stride < coding.tokenizer.patch() ? s.stride : 0;
  const auto ids = tokenizable_ids(store.split(set), [&](const std::string& id) -> const MaterialMeta& { return store.meta(id); },
                                   coding.tokenizer, skipped, coding.residual_over());
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
      const std::vector<float> atoms = atomic_grid(m, coding);
      const std::vector<float> predicted = predict_density(m, coding, model, s, atoms);
      mine.push_back(score(m, predicted, coding, atoms, s.electrons_from));
      if (on_prediction) on_prediction(m, predicted);
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
  TrainedModel trained(request.run_dir, request.step);
  const MaterialStore store(expand_store_paths(request.stores.empty() ? trained.run.data.stores : request.stores), 0);
  EvalSettings settings = trained.run.eval;
  if (!request.mode.empty()) settings.mode = request.mode;
  if (!request.decode.empty()) settings.decode = request.decode;
  if (request.stride >= 0) settings.stride = request.stride;
  configure_threads(trained.run.train.threads);
  return *evaluate_set(store, request.set, trained.coding, &trained.model, settings, trained.step, skipped, {},
                       request.on_prediction);
}

EvalRecord evaluate_oracle(const MaterialStore& store, const std::string& set, const DensityCoding& coding, int stride,
                           SkipReport& skipped) {
  EvalSettings s;
  s.mode = "oracle";
  s.stride = stride;
  return *evaluate_set(store, set, coding, nullptr, s, 0, skipped);
}

void check_oracle_equals_floor(const EvalRecord& oracle) {
  size_t mismatched = 0;
  for (const auto& m : oracle.materials) mismatched += m.nmae != m.floor_nmae;
  if (mismatched)
    throw Error("oracle NMAE differs from the codec floor for " + std::to_string(mismatched) + " of " +
                std::to_string(oracle.materials.size()) + " materials: tiling or stitching is broken");
}

}  // namespace rhotrain
