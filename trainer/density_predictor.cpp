#include "trainer/density_predictor.h"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "common/error.h"
#include "common/files.h"
#include "metrics/tiling.h"
#include "trainer/checkpoint.h"
#include "trainer/density_decoder.h"
#include "trainer/device.h"

namespace rhotrain {
namespace {

int maskgit_steps(const std::string& mode) {
  if (mode.rfind("maskgit:", 0) != 0) return 0;
  const int k = std::atoi(mode.c_str() + 8);
  if (k < 1) throw Error("eval mode '" + mode + "': maskgit needs K ≥ 1 steps (maskgit:1 is one shot)");
  return k;
}

// Predicted values [b, V] — of the density, or of the residual over `atoms` [b, V] — for a batch of sequences of one
// material (all the same length).
torch::Tensor predict(DensityTransformer& model, torch::Tensor tokens, const torch::Tensor& dens_start,
                      const torch::Tensor& cells, const EvalSettings& s, const torch::Tensor& atoms) {
  const int64_t b = tokens.size(0), V = static_cast<int64_t>(std::pow(model->config().patch, 3));
  if (s.mode == "teacher_forced") {  // reads the ground-truth density tokens: an upper bound, labelled as such
    auto probs = torch::softmax(model->forward(tokens, dens_start, {}, atoms), -1);
    return decode_values(probs, cells, s.decode);
  }
  if (s.mode == "free_running") {  // the honest causal mode: each voxel conditioned on the model's own earlier choices
    DensityTransformerImpl::DecodeCache cache;
    const auto& levels = cells[0];
    const auto midpoints = (levels.narrow(0, 1, levels.size(0) - 1) + levels.narrow(0, 0, levels.size(0) - 1)) / 2;
    auto logits = model->start_decoding(tokens, dens_start[0].item<int64_t>(), cache, atoms);
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
    auto probs = torch::softmax(model->forward(tokens, dens_start, hidden, atoms), -1);
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

std::vector<float> atomic_grid(const MaterialMeta& m, const DensityCoding& coding) {
  if (!coding.atoms || !coding.atoms->unseen_elements(m.numbers).empty()) return {};
  return coding.atoms->grid(m);
}

// Each tile contributes only its used voxels, so every voxel is written exactly once (with overlapping patches: averaged).
std::vector<float> predict_density(const Material& m, const DensityCoding& coding, DensityTransformer* model, const EvalSettings& s,
                                   const std::vector<float>& atoms) {
  const V3Tokenizer& tok = coding.tokenizer;
  const int P = tok.patch(), V = tok.patch_voxels(), L = tok.sequence_length(m.n_atoms());
  const LmqCodec& codec = tok.codec();
  if (coding.residual && atoms.size() != m.density.size())
    throw Error(m.id + ": the residual target needs ρ_atoms on the material's grid");
  // Each voxel from the one tile that covers it, or the weighted mean of the overlapping patches over it.
  const bool overlapping = s.stride > 0 && s.stride < P;
  const auto tiles = overlapping ? overlapping_grid_tiles(m.grid, P, s.stride) : grid_tiles(m.grid, P);
  std::vector<double> weighted(overlapping ? m.density.size() : 0), weight(weighted.size());
  torch::NoGradGuard no_grad;
  const torch::Device device = model ? (*model)->parameters().front().device() : torch::Device(torch::kCPU);
  const torch::Tensor cells = model ? bin_cells(codec, device) : torch::Tensor();
  std::vector<float> predicted(m.density.size()), patch(static_cast<size_t>(V));
  for (size_t first = 0; first < tiles.size(); first += static_cast<size_t>(s.batch)) {
    const size_t b = std::min(tiles.size() - first, static_cast<size_t>(s.batch));
    std::vector<int32_t> tokens(b * static_cast<size_t>(L)), bins(b * static_cast<size_t>(V));
    std::vector<float> baseline(coding.residual ? b * static_cast<size_t>(V) : 0);
    for (size_t r = 0; r < b; ++r) {
      const Tile& t = tiles[first + r];
      const Grid origin{t.axis[0].start, t.axis[1].start, t.axis[2].start};
      gather_patch(m.grid, m.density.data(), origin, P, patch.data());
      if (coding.residual) {
        float* base = baseline.data() + r * static_cast<size_t>(V);
        gather_patch(m.grid, atoms.data(), origin, P, base);
        for (int v = 0; v < V; ++v) patch[static_cast<size_t>(v)] -= base[v];
      }
      tok.encode(m, origin, patch.data(), tokens.data() + r * L, bins.data() + r * V);
    }
    std::vector<float> values(b * static_cast<size_t>(V));
    if (!model) {
      for (size_t i = 0; i < values.size(); ++i) values[i] = codec.decode(bins[i]);
    } else {
      auto t = torch::from_blob(tokens.data(), {static_cast<int64_t>(b), L}, torch::kInt32).to(torch::kInt64).to(device);
      auto ds = torch::full({static_cast<int64_t>(b)}, v3::dens_start(m.n_atoms()), torch::dtype(torch::kInt64).device(device));
      torch::Tensor atoms_in;
      if (coding.residual) atoms_in = torch::from_blob(baseline.data(), {static_cast<int64_t>(b), V}, torch::kFloat32).to(device);
      auto out = predict(*model, t, ds, cells, s, atoms_in).to(torch::kCPU).contiguous();
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
            const size_t voxel = (i * m.grid[1] + j) * m.grid[2] + k, slot = r * V + (static_cast<size_t>(a) * P + bb) * P + c;
            if (!overlapping) {
              // A residual comes back to a density over the baseline, as the codec's round trip does (codec_round_trip).
              predicted[voxel] = coding.residual ? atoms[voxel] + values[slot] : values[slot];
              continue;
            }
            const double w = overlap_weight(a, P) * overlap_weight(bb, P) * overlap_weight(c, P);
            weighted[voxel] += w * values[slot], weight[voxel] += w;
          }
    }
  }
  // The weighted mean of the decoded values, then back over the baseline as the codec's round trip does: where every
  // patch decoded the same value, the mean is that value exactly (small integer weights, sums in double).
  if (overlapping)
    for (size_t v = 0; v < predicted.size(); ++v) {
      predicted[v] = static_cast<float>(weighted[v] / weight[v]);
      if (coding.residual) predicted[v] = atoms[v] + predicted[v];
    }
  // A residual carries no net charge: the atomic baseline already holds the count its elements bring (fitted ∫f_Z match
  // the valence counts to 0.01 e), while a patchwise model's residuals need not sum to zero over the cell. So the
  // baseline part is scaled by 1 − α such that ∫ρ̂ dV is exactly that count — a fraction of a percent, moved where the
  // density is rather than spread as a constant into low-density regions. The oracle is left as the codec rounds it.
  if (coding.residual && model) {
    double predicted_sum = 0, atoms_sum = 0;
    for (size_t v = 0; v < predicted.size(); ++v) predicted_sum += predicted[v], atoms_sum += atoms[v];
    const double voxel_volume = std::abs(cell_volume(m.lattice)) / static_cast<double>(predicted.size());
    const double alpha = (predicted_sum * voxel_volume - coding.atoms->electrons(m.numbers)) / (atoms_sum * voxel_volume);
    if (std::isfinite(alpha) && atoms_sum > 0)
      for (size_t v = 0; v < predicted.size(); ++v) predicted[v] = static_cast<float>(predicted[v] - alpha * atoms[v]);
  }
  return predicted;
}

std::vector<std::string> resolve_run_stores(const std::string& run_dir, const std::vector<std::string>& stores) {
  auto found = [](const std::filesystem::path& p) {
    if (p.string().find_first_of("*?[") == std::string::npos) return std::filesystem::exists(p);
    try {
      return !expand_glob(p.string(), "store").empty();
    } catch (const Error&) {
      return false;
    }
  };
  std::vector<std::string> out;
  for (const auto& store : stores) {
    std::string resolved = store;
    if (std::filesystem::path(store).is_relative() && !found(store))
      for (auto dir = std::filesystem::absolute(run_dir).lexically_normal(); !dir.empty(); dir = dir.parent_path()) {
        if (found(dir / store)) {
          resolved = (dir / store).string();
          break;
        }
        if (dir == dir.parent_path()) break;
      }
    out.push_back(resolved);
  }
  return out;
}

TrainedModel::TrainedModel(const std::string& run_dir, const std::string& step_name)
    : checkpoint(find_checkpoint(run_dir, step_name)),
      run(run_settings(read_checkpoint_config(checkpoint))),
      step(read_train_state(checkpoint).step),
      coding{V3Tokenizer(run.data.patch, read_checkpoint_codec(checkpoint), run.data.max_len), read_checkpoint_atoms(checkpoint),
             run.data.residual},
      model(run.model.for_codec(coding.tokenizer.codec().bins())) {
  if (coding.residual && !coding.atoms) throw Error(checkpoint + ": a residual run's checkpoint without its atomic-density fit (atoms.h5)");
  run.data.stores = resolve_run_stores(run_dir, run.data.stores);
  load_model(checkpoint, model);
  const auto device = pick_device(run.train.device);
  model->to(device);
  model->set_execution(model_execution(run.train.precision, run.train.attention, device));
  model->eval();
}

}  // namespace rhotrain
