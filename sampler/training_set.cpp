#include "sampler/training_set.h"

#include "common/error.h"

namespace rhotrain {

LmqCodec fit_codec_on_split(const MaterialStore& store, const std::string& split, int bins, int max_iterations,
                            LloydReport* report) {
  DensityHistogram hist;
  for (const auto& id : store.split(split)) {
    const Material m = store.read(id);
    hist.add(m.density.data(), m.density.size());
  }
  LmqCodec codec = LmqCodec::fit(hist, bins, max_iterations, report);
  codec.fit_split = split;
  return codec;
}

TrainingSet load_training_set(std::shared_ptr<const MaterialStore> store, const std::string& split,
                              const V3Tokenizer& tokenizer, const PlanSpec& spec) {
  TrainingSet t;
  const auto strategy = make_weighting(spec.weighting);
  t.ids = tokenizable_ids(store->split(split), [&](const std::string& id) -> const MaterialMeta& { return store->meta(id); },
                          tokenizer, t.skipped);
  if (t.ids.empty()) throw Error("split '" + split + "': no material can be tokenized (see the skip report)");
  std::vector<Grid> grids;
  for (const auto& id : t.ids) {
    const MaterialMeta& m = store->meta(id);
    const double n_e = electron_count(m.n_electrons, m.n_electrons_grid, spec.electrons_from);
    if (!(n_e > 0)) throw Error(id + ": electron count " + std::to_string(n_e) + " is not positive");
    t.weights.push_back(strategy->weight(n_e));
    grids.push_back(m.grid);
  }
  t.source = std::make_shared<StorePatchSource>(store, t.ids);
  t.plan = std::make_shared<PatchPlan>(t.weights, grids, spec.patches_per_mat, spec.mode, spec.seed);
  return t;
}

}  // namespace rhotrain
