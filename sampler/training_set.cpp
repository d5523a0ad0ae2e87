#include "sampler/training_set.h"

#include "common/error.h"

namespace rhotrain {

LmqCodec fit_codec_on_split(const MaterialStore& store, const std::string& split, int bins, int max_iterations,
                            LloydReport* report, const AtomicDensity* residual_over) {
  DensityHistogram hist(DensityHistogram::kDefaultBins, 1e-7, 1e5, /*signed_values=*/residual_over != nullptr);
  for (const auto& id : store.split(split)) {
    Material m = store.read(id);
    if (residual_over) {
      const std::vector<float> atoms = residual_over->grid(m);
      for (size_t v = 0; v < m.density.size(); ++v) m.density[v] -= atoms[v];
    }
    hist.add(m.density.data(), m.density.size());
  }
  LmqCodec codec = LmqCodec::fit(hist, bins, max_iterations, report);
  codec.fit_split = split;
  if (residual_over) codec.target = "residual", codec.atoms_fingerprint = residual_over->fingerprint();
  return codec;
}

TrainingSet load_training_set(std::shared_ptr<const MaterialStore> store, const std::string& split,
                              const V3Tokenizer& tokenizer, const PlanSpec& spec,
                              std::shared_ptr<const AtomicDensity> residual_over, size_t atom_grid_bytes) {
  TrainingSet t;
  const auto strategy = make_weighting(spec.weighting);
  t.ids = tokenizable_ids(store->split(split), [&](const std::string& id) -> const MaterialMeta& { return store->meta(id); },
                          tokenizer, t.skipped, residual_over.get());
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
  if (residual_over) t.atom_grids = std::make_shared<AtomGrids>(residual_over, t.source, atom_grid_bytes);
  return t;
}

}  // namespace rhotrain
