#include "trainer/settings.h"

#include <algorithm>

#include "common/error.h"
#include "sampler/v3_layout.h"

namespace rhotrain {
namespace {

DataSettings data_settings(const RunConfig& c) {
  DataSettings d;
  d.stores = c.get_list("data.store");
  d.split_train = c.get_string("data.split_train");
  d.patch = static_cast<int>(c.get_int("data.patch"));
  d.max_len = static_cast<int>(c.get_int("data.max_len"));
  d.codec_bins = static_cast<int>(c.get_int("data.codec_bins"));
  d.residual = c.get_string("data.target") == "residual";
  d.atoms = c.get_string("data.atoms");
  d.codec = c.get_string("data.codec");
  d.plan.weighting = c.get_string("data.weighting");
  d.plan.mode = parse_weighting_mode(c.get_string("data.weighting_mode"));
  d.plan.electrons_from = parse_electrons_from(c.get_string("data.electrons_from"));
  d.plan.patches_per_mat = c.get_double("data.patches_per_mat");
  if (!(d.plan.patches_per_mat > 0)) throw Error("data.patches_per_mat must be positive, not " + c.get_string("data.patches_per_mat"));
  d.plan.seed = static_cast<uint64_t>(c.get_int("train.seed"));
  d.workers = static_cast<int>(c.get_int("data.workers"));
  d.cache_bytes = static_cast<size_t>(c.get_int("data.cache_bytes"));
  return d;
}

ModelSettings model_settings(const RunConfig& c) {
  ModelSettings s;
  s.preset = c.get_string("model.preset");
  apply_model_preset(s.preset, s.shape);
  auto override_int = [&](const char* key, int& field) {
    if (c.get_int(key) > 0) field = static_cast<int>(c.get_int(key));
  };
  override_int("model.d_model", s.shape.d_model);
  override_int("model.layers", s.shape.layers);
  override_int("model.heads", s.shape.heads);
  s.shape.kv_heads = s.shape.heads;
  override_int("model.kv_heads", s.shape.kv_heads);
  override_int("model.ffn", s.shape.ffn);
  s.shape.geometry_bias = c.get_bool("model.geometry_bias");
  s.shape.attend_positions = c.get_bool("model.attend_positions");
  s.shape.causal = c.get_string("model.objective") == "causal";
  s.shape.patch = static_cast<int>(c.get_int("data.patch"));
  s.shape.atom_density_input = c.get_string("data.target") == "residual";
  const ModelConfig& m = s.shape;
  if (m.d_model % m.heads != 0 || m.heads % m.kv_heads != 0 || (m.d_model / m.heads) % 2 != 0)
    throw Error("model: heads must divide d_model into even head sizes, and kv_heads must divide heads");
  return s;
}

}  // namespace

ModelConfig ModelSettings::for_codec(int bins) const {
  ModelConfig m = shape;
  m.density_bins = bins;
  m.vocab = v3::kDensOffset + bins;
  return m;
}

RunSettings run_settings(const RunConfig& c) {
  RunSettings s;
  s.data = data_settings(c);
  s.model = model_settings(c);

  TrainSettings& t = s.train;
  t.steps = c.get_int("train.steps");
  t.batch_size = c.get_int("train.batch_size");
  if (t.steps <= 0 || t.batch_size <= 0) throw Error("train.steps and train.batch_size must be positive");
  t.warmup = c.get_int("train.warmup");
  t.log_every = std::max<int64_t>(1, c.get_int("train.log_every"));
  t.lr = c.get_double("train.lr");
  t.wsd = c.get_string("train.schedule") == "wsd";
  t.mask_all = c.get_string("train.mask") == "all";
  t.cooldown = c.get_double("train.cooldown");
  t.min_lr_ratio = c.get_double("train.min_lr_ratio");
  t.weight_decay = c.get_double("train.weight_decay");
  t.grad_clip = c.get_double("train.grad_clip");
  t.density_loss_power = c.get_double("train.density_loss_power");
  t.crps_weight = c.get_double("train.crps_weight");
  t.seed = static_cast<uint64_t>(c.get_int("train.seed"));
  t.device = c.get_string("train.device");
  t.threads = static_cast<int>(c.get_int("train.threads"));
  t.backend = c.get_string("train.backend");
  t.precision = c.get_string("train.precision");
  t.attention = c.get_string("train.attention");
  t.dist_timeout_s = static_cast<int>(c.get_int("train.dist_timeout_s"));
  if (t.dist_timeout_s <= 0) throw Error("train.dist_timeout_s must be positive");
  t.max_bad_steps = static_cast<int>(c.get_int("train.max_bad_steps"));
  if (t.max_bad_steps < 1) throw Error("train.max_bad_steps must be at least 1");

  EvalSettings& e = s.eval;
  e.every = c.get_int("eval.every");
  e.sets = c.get_list("eval.sets");
  e.mode = c.get_string("eval.mode");
  e.decode = c.get_string("eval.decode");
  e.batch = static_cast<int>(c.get_int("eval.batch_size"));
  e.stride = static_cast<int>(c.get_int("eval.stride"));
  if (e.stride < 0) throw Error("eval.stride must be 0 (one tile per voxel) or a positive stride, not " + std::to_string(e.stride));
  e.electrons_from = s.data.plan.electrons_from;

  s.checkpoint.every = std::max<int64_t>(1, c.get_int("checkpoint.every"));
  s.checkpoint.keep = static_cast<int>(c.get_int("checkpoint.keep"));
  return s;
}

}  // namespace rhotrain
