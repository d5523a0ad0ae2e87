// The torch::data Dataset + Sampler: batch contents, padding to the longest sequence, identical batches
// with and without worker threads, resume at an arbitrary batch, and disjoint rank shares.
#include <gtest/gtest.h>

#include <set>

#include "materials/synthetic.h"
#include "sampler/patch_dataset.h"
#include "sampler/weighting.h"

namespace rhotrain {
namespace {

struct Fixture {
  std::shared_ptr<const PatchSource> source;
  std::shared_ptr<const V3Tokenizer> tokenizer;
  std::shared_ptr<const PatchStream> stream;
};

Fixture make_fixture() {
  std::vector<Material> ms;
  std::vector<double> w;
  std::vector<Grid> grids;
  for (size_t i = 0; i < 24; ++i) {
    ms.push_back(synthetic_material(4, i));
    w.push_back(ms.back().n_electrons);
    grids.push_back(ms.back().grid);
  }
  std::vector<double> levels;
  for (int i = 0; i < 256; ++i) levels.push_back(0.02 * (i + 1));
  Fixture f;
  f.source = std::make_shared<MemoryPatchSource>(std::move(ms));
  f.tokenizer = std::make_shared<V3Tokenizer>(4, LmqCodec(levels, 6.0), 1024);
  f.stream = std::make_shared<PatchStream>(PatchPlan(w, grids, 8, WeightingMode::sampling, 11));
  return f;
}

std::vector<PatchBatch> collect(const Fixture& f, size_t workers, uint64_t start, uint64_t batches, int rank = 0,
                                int world = 1) {
  auto loader = torch::data::make_data_loader(
      PatchDataset(f.source, f.tokenizer, f.stream), PlanSampler(8, rank, world, start, batches),
      torch::data::DataLoaderOptions().batch_size(8 / world).workers(workers));
  std::vector<PatchBatch> out;
  for (auto& b : *loader) out.push_back(b);
  return out;
}

TEST(PatchDataset, BatchHoldsTokensTargetsAndMaskPaddedToTheLongestSequence) {
  const Fixture f = make_fixture();
  const auto batches = collect(f, 0, 0, 3);
  ASSERT_EQ(batches.size(), 3u);
  for (const auto& b : batches) {
    const int64_t B = b.tokens.size(0), L = b.tokens.size(1);
    ASSERT_EQ(B, 8);
    int64_t longest = 0;
    for (int64_t r = 0; r < B; ++r) {
      const auto& m = f.source->meta(static_cast<size_t>(b.material[r].item<int64_t>()));
      longest = std::max<int64_t>(longest, f.tokenizer->sequence_length(m.n_atoms()));
      const int64_t ds = b.dens_start[r].item<int64_t>();
      EXPECT_EQ(ds, v3::dens_start(m.n_atoms()));
      EXPECT_EQ(b.tokens[r][ds].item<int64_t>(), v3::DENS_START);
      EXPECT_EQ(b.tokens[r][ds + 1 + 64].item<int64_t>(), v3::DENS_END);
      // Targets are the density tokens' bins; the mask covers exactly the P³ density slots.
      auto slots = torch::arange(ds + 1, ds + 1 + 64);
      EXPECT_TRUE(torch::equal(b.targets[r].index({slots}) + v3::kDensOffset, b.tokens[r].index({slots})));
      EXPECT_EQ(b.loss_mask[r].sum().item<int64_t>(), 64);
      EXPECT_EQ(b.loss_weight[r].item<float>(), 1.0f);
    }
    EXPECT_EQ(L, longest);
    EXPECT_LT(L, 1024);
  }
}

TEST(PatchDataset, WorkersYieldTheSameBatchesAsTheMainThread) {
  const Fixture f = make_fixture();
  const auto a = collect(f, 0, 0, 12), b = collect(f, 2, 0, 12);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::equal(a[i].tokens, b[i].tokens)) << "batch " << i;
    EXPECT_EQ(a[i].positions, b[i].positions);
  }
}

TEST(PatchDataset, ResumingAtABatchContinuesTheSameStream) {
  const Fixture f = make_fixture();
  const auto straight = collect(f, 0, 0, 40);  // 40 × 8 = 320 > one epoch (192): crosses epochs
  const auto resumed = collect(f, 2, 17 * 8, 23);
  ASSERT_EQ(resumed.size(), 23u);
  for (size_t i = 0; i < resumed.size(); ++i) EXPECT_TRUE(torch::equal(resumed[i].tokens, straight[17 + i].tokens));
}

TEST(PatchDataset, RanksTakeDisjointSlicesOfTheSameGlobalBatches) {
  const Fixture f = make_fixture();
  const auto global = collect(f, 0, 0, 5);
  const auto r0 = collect(f, 0, 0, 5, 0, 2), r1 = collect(f, 0, 0, 5, 1, 2);
  for (size_t s = 0; s < 5; ++s) {
    std::vector<uint64_t> joined = r0[s].positions;
    joined.insert(joined.end(), r1[s].positions.begin(), r1[s].positions.end());
    EXPECT_EQ(joined, global[s].positions);
    std::set<uint64_t> overlap(r0[s].positions.begin(), r0[s].positions.end());
    for (uint64_t p : r1[s].positions) EXPECT_EQ(overlap.count(p), 0u);
  }
}

}  // namespace
}  // namespace rhotrain
