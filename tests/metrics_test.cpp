// Tiling coverage, every aggregate on hand-computed cases, deciles with remainders, bootstrap determinism
// and the H1–H3 logic on constructed inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>

#include "metrics/arm_comparison.h"
#include "metrics/bootstrap.h"
#include "metrics/eval_record.h"
#include "metrics/nmae.h"
#include "metrics/tiling.h"

namespace rhotrain {
namespace {

TEST(Tiling, EveryVoxelIsPredictedExactlyOnce) {
  for (int P : {1, 4, 6, 19})
    for (int n : {1, 2, 5, 6, 7, 11, 12, 13, 18, 19, 20, 37, 38, 56, 57}) {
      std::vector<int> hits(static_cast<size_t>(n), 0);
      for (const auto& t : axis_tiles(n, P)) {
        ASSERT_GE(t.start, 0);
        ASSERT_LE(t.first_used + t.used, P);
        for (int k = 0; k < t.used; ++k) ++hits[static_cast<size_t>((t.start + t.first_used + k) % n)];
      }
      for (int h : hits) ASSERT_EQ(h, 1) << "n=" << n << " P=" << P;
    }
}

TEST(Tiling, FollowsTheDesignRules) {
  // n = kP: k full tiles; n = kP + 1: a last tile at n − P using its final voxel; n < P: one wrapped tile.
  auto t = axis_tiles(12, 6);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[1].start, 6);
  t = axis_tiles(13, 6);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[2].start, 7);
  EXPECT_EQ(t[2].first_used, 5);
  EXPECT_EQ(t[2].used, 1);
  t = axis_tiles(6, 6);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].used, 6);
  t = axis_tiles(4, 6);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].start, 0);
  EXPECT_EQ(t[0].used, 4);
  EXPECT_EQ(grid_tiles({13, 4, 12}, 6).size(), 3u * 1u * 2u);
}

TEST(Tiling, OverlappingPatchesCoverEveryVoxelFromSeveralPatches) {
  for (int stride : {2, 3, 5})
    for (const std::array<int, 3> grid : {std::array<int, 3>{13, 6, 4}, std::array<int, 3>{18, 18, 18}}) {
      std::vector<double> weight(static_cast<size_t>(grid[0] * grid[1] * grid[2]), 0);
      for (const Tile& t : overlapping_grid_tiles(grid, 6, stride))
        for (int a = 0; a < 6; ++a)
          for (int b = 0; b < 6; ++b)
            for (int c = 0; c < 6; ++c) {
              const int i = (t.axis[0].start + a) % grid[0], j = (t.axis[1].start + b) % grid[1], k = (t.axis[2].start + c) % grid[2];
              weight[static_cast<size_t>((i * grid[1] + j) * grid[2] + k)] += overlap_weight(a, 6) * overlap_weight(b, 6) * overlap_weight(c, 6);
            }
      for (double w : weight) ASSERT_GT(w, 0) << stride;
    }
  EXPECT_EQ(overlapping_grid_tiles({12, 12, 12}, 6, 3).size(), 4u * 4u * 4u);
  EXPECT_EQ(overlap_weight(0, 6), 1);
  EXPECT_EQ(overlap_weight(2, 6), 3);
  EXPECT_EQ(overlap_weight(3, 6), 3);
  EXPECT_EQ(overlap_weight(5, 6), 1);
}

TEST(Tiling, SeamRatioSeesStepsAtPatchBoundaries) {
  const std::array<int, 3> grid = {12, 12, 8};
  std::vector<float> smooth(12 * 12 * 8), seamed(smooth.size());  // noise, and noise with jumps at the tiles' edges
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  for (int i = 0; i < 12; ++i)
    for (int j = 0; j < 12; ++j)
      for (int k = 0; k < 8; ++k) {
        const size_t v = static_cast<size_t>((i * 12 + j) * 8 + k);
        smooth[v] = uniform(rng);  // steps alike everywhere, on average
        seamed[v] = smooth[v] + static_cast<float>(((i / 4 + j / 4 + k / 4) % 2) * 3);  // a jump at every 4-voxel tile boundary
      }
  EXPECT_NEAR(seam_ratio(grid, smooth.data(), 4), 1.0, 0.1);  // no seams: the boundaries step as the rest does
  EXPECT_GT(seam_ratio(grid, seamed.data(), 4), 2.0);
  EXPECT_EQ(seam_ratio({3, 3, 3}, smooth.data(), 4), 1.0);  // one patch covers the grid: no boundary
}

MaterialScore score(const std::string& id, double n_e, double nmae) {
  MaterialScore s;
  s.id = id;
  s.n_e = n_e;
  s.nmae = nmae;
  s.floor_nmae = nmae / 4;
  s.uniform_nmae = 0.5;
  s.atomic_nmae = 2 * nmae;
  return s;
}

TEST(Aggregates, HandComputedValues) {
  const std::vector<MaterialScore> s = {score("a", 1, 0.10), score("b", 3, 0.02), score("c", 6, 0.04)};
  const Aggregates a = aggregate(s);
  EXPECT_NEAR(a.per_mat_mean.value, (0.10 + 0.02 + 0.04) / 3, 1e-15);
  EXPECT_NEAR(a.per_electron.value, (1 * 0.10 + 3 * 0.02 + 6 * 0.04) / 10, 1e-15);
  EXPECT_NEAR(a.median, 0.04, 1e-15);
  EXPECT_NEAR(a.p99, 0.04 + 0.98 * (0.10 - 0.04), 1e-12);  // linear interpolation between the top two
  EXPECT_NEAR(a.floor_per_mat_mean, a.per_mat_mean.value / 4, 1e-15);
  EXPECT_NEAR(a.uniform_per_electron, 0.5, 1e-15);
  EXPECT_NEAR(a.atomic_per_mat_mean, 2 * a.per_mat_mean.value, 1e-15);
  EXPECT_NEAR(a.atomic_median, 0.08, 1e-15);
  EXPECT_LE(a.per_mat_mean.lo, a.per_mat_mean.value);
  EXPECT_GE(a.per_mat_mean.hi, a.per_mat_mean.value);
  EXPECT_GE(a.per_mat_mean.lo, 0.02 - 1e-12);
  EXPECT_LE(a.per_mat_mean.hi, 0.10 + 1e-12);
}

TEST(Aggregates, DecilesSplitLikeNumpyArraySplitSortedByElectronsThenId) {
  std::vector<MaterialScore> s;
  for (int i = 0; i < 23; ++i) s.push_back(score("m" + std::to_string(100 - i), 1000 - i * 10 + (i % 2), 0.01 * i));
  s.push_back(score("tie-b", 5, 0.5));
  s.push_back(score("tie-a", 5, 0.6));
  const auto g = decile_groups(s);  // 25 = 3+3+3+3+3+2+2+2+2+2
  ASSERT_EQ(g.size(), 10u);
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(g[i].size(), i < 5 ? 3u : 2u);
  EXPECT_EQ(s[g[0][0]].id, "tie-a");
  EXPECT_EQ(s[g[0][1]].id, "tie-b");
  const Aggregates a = aggregate(s);
  EXPECT_EQ(a.deciles[0].count, 3u);
  EXPECT_EQ(a.deciles[0].n_e_min, 5);
  EXPECT_NEAR(a.deciles[9].per_mat_mean.value, (s[g[9][0]].nmae + s[g[9][1]].nmae) / 2, 1e-15);
}

TEST(Aggregates, BootstrapIsDeterministic) {
  std::vector<MaterialScore> s;
  for (int i = 0; i < 200; ++i) s.push_back(score("m" + std::to_string(i), 1 + i, 0.01 + 0.001 * ((i * 37) % 50)));
  const Aggregates a = aggregate(s), b = aggregate(s);
  EXPECT_EQ(a.per_mat_mean.lo, b.per_mat_mean.lo);
  EXPECT_EQ(a.per_electron.hi, b.per_electron.hi);
  EXPECT_EQ(a.deciles[3].per_mat_mean.lo, b.deciles[3].per_mat_mean.lo);
  EXPECT_LT(a.per_mat_mean.lo, a.per_mat_mean.hi);
}

// Electrons-trained (B) worse by `shift(n_e)` than uniform (A) on the same materials.
std::pair<std::vector<MaterialScore>, std::vector<MaterialScore>> paired(const std::function<double(double)>& shift) {
  std::vector<MaterialScore> a, b;
  for (int i = 0; i < 200; ++i) {
    const double ne = 2 + 10 * i, base = 0.03 + 0.002 * ((i * 13) % 7);
    a.push_back(score("m" + std::to_string(i), ne, base));
    b.push_back(score("m" + std::to_string(i), ne, base + shift(ne)));
  }
  return {a, b};
}

TEST(Hypotheses, ClearCostOnSmallMaterialsSupportsH1AndH3) {
  auto [a, b] = paired([](double ne) { return ne < 500 ? 0.02 : -0.001; });
  const auto h = judge(compare_paired({a}, {b}));
  EXPECT_EQ(h.h1, Verdict::supported);
  EXPECT_EQ(h.h3, Verdict::supported);
}

TEST(Hypotheses, ImprovementEverywhereSupportsH2AndRejectsH1AndH3) {
  // Better everywhere, most on the smallest materials: no bottom-decile cost at all.
  auto [a, b] = paired([](double ne) { return ne < 1000 ? -0.006 : -0.004; });
  const auto c = compare_paired({a}, {b});
  EXPECT_LT(c.d_per_mat_mean.hi, 0.0);
  const auto h = judge(c);
  EXPECT_EQ(h.h1, Verdict::not_supported);
  EXPECT_EQ(h.h2, Verdict::supported);
  EXPECT_EQ(h.h3, Verdict::not_supported);
}

TEST(Hypotheses, NoiseAroundTheThresholdIsInconclusive) {
  auto [a, b] = paired([](double ne) { return 0.001 + 0.02 * std::sin(ne); });
  const auto h = judge(compare_paired({a}, {b}));
  EXPECT_EQ(h.h1, Verdict::inconclusive);
  EXPECT_EQ(h.h2, Verdict::inconclusive);
}

TEST(Hypotheses, DifferentSetsAreRefused) {
  auto [a, b] = paired([](double) { return 0.0; });
  b[5].id = "other";
  EXPECT_THROW(compare_paired({a}, {b}), std::invalid_argument);
}

// Fewer than ten materials leave deciles empty: those are not available (not a 0.00), and no verdict is given —
// with one material every bootstrap interval has zero width, and "H2 supported" came out of that.
TEST(Hypotheses, ASetTooSmallGetsNoVerdictAndItsEmptyDecilesAreNotAvailable) {
  auto [a, b] = paired([](double) { return -0.01; });
  a.resize(5), b.resize(5);
  const Aggregates agg = aggregate(a);
  for (size_t d = 0; d < 10; ++d) EXPECT_EQ(available(agg.deciles[d].per_mat_mean), d < 5) << d;
  EXPECT_TRUE(std::isnan(agg.deciles[9].n_e_min));
  const auto c = compare_paired({a}, {b});
  EXPECT_FALSE(available(c.d_deciles[9]));
  EXPECT_FALSE(available(c.h3_gap));
  const auto h = judge(c);
  EXPECT_EQ(h.h1, Verdict::not_applicable);
  EXPECT_EQ(h.h2, Verdict::not_applicable);
  EXPECT_EQ(h.h3, Verdict::not_applicable);
  EXPECT_STREQ(verdict_name(h.h2), "n/a");
  a.resize(1), b.resize(1);
  EXPECT_EQ(judge(compare_paired({a}, {b})).h2, Verdict::not_applicable);
}

// An evaluation record keeps an empty decile as null and reads it back as not available.
TEST(EvalRecord, EmptyDecilesRoundTripAsNull) {
  EvalRecord r;
  r.set = "s", r.mode = "maskgit:1", r.decode = "median";
  for (int i = 0; i < 3; ++i) r.materials.push_back(score("m" + std::to_string(i), 10 + i, 0.02 * (i + 1)));
  r.aggregates = aggregate(r.materials);
  const std::string json = eval_record_json(r);
  EXPECT_NE(json.find("\"per_mat_mean\": null"), std::string::npos) << json;
  const std::string path = ::testing::TempDir() + "/record.json";
  { std::ofstream(path) << json; }
  const EvalRecord back = read_eval_record(path);
  EXPECT_FALSE(available(back.aggregates.deciles[7].per_mat_mean));
  EXPECT_EQ(back.aggregates.deciles[7].count, 0u);
  EXPECT_EQ(back.aggregates.deciles[1].per_mat_mean.value, r.aggregates.deciles[1].per_mat_mean.value);
  EXPECT_EQ(back.materials[2].atomic_nmae, r.materials[2].atomic_nmae);
  EXPECT_EQ(back.aggregates.atomic_p99, r.aggregates.atomic_p99);
  std::ostringstream table;
  print_eval_table(table, r);
  EXPECT_NE(table.str().find(" n/a"), std::string::npos) << table.str();
  EXPECT_NE(table.str().find("model / atomic baseline (per-material mean): 0.50×"), std::string::npos) << table.str();
}

// Records written before the atomic baseline name the uniform-density one "baseline": they still read, atomic n/a.
TEST(EvalRecord, RecordsFromBeforeTheAtomicBaselineStillRead) {
  const std::string path = ::testing::TempDir() + "/old.json";
  {
    std::ofstream(path) << R"({"set": "val_200", "step": 9, "mode": "maskgit:1", "decode": "median",
      "aggregates": {"per_mat_mean": {"value": 0.1, "ci95": [0.09, 0.11]}, "per_electron": {"value": 0.1, "ci95": [0.09, 0.11]},
        "median": 0.1, "p99": 0.2, "deciles": [], "floor": {"per_mat_mean": 0.03, "per_electron": 0.03},
        "baseline": {"per_mat_mean": 0.9, "per_electron": 0.8}},
      "materials": [{"id": "a", "n_atoms": 2, "n_e": 8, "grid": [4, 4, 4], "sum_abs_err": 1, "sum_abs_true": 10, "nmae": 0.1,
                     "floor_nmae": 0.03, "baseline_nmae": 0.9}]})";
  }
  const EvalRecord r = read_eval_record(path);
  EXPECT_EQ(r.materials[0].uniform_nmae, 0.9);
  EXPECT_TRUE(std::isnan(r.materials[0].atomic_nmae));
  EXPECT_EQ(r.aggregates.uniform_per_electron, 0.8);
  EXPECT_TRUE(std::isnan(r.aggregates.atomic_per_mat_mean));
}

}  // namespace
}  // namespace rhotrain

namespace rhotrain {
namespace {

// K seeds × 200 materials: material i's base NMAE plus seed s's offset (its effect on every material) plus `noise`.
SeedRuns seeded(const std::vector<double>& seed_offsets, double shift = 0, double noise = 0) {
  SeedRuns runs;
  for (size_t s = 0; s < seed_offsets.size(); ++s) {
    runs.emplace_back();
    for (int i = 0; i < 200; ++i) {
      const double wobble = noise * (((i * 7 + static_cast<int>(s) * 13) % 11) - 5) / 5.0;
      runs.back().push_back(score("m" + std::to_string(i), 2 + 10 * i, 0.05 + 0.0001 * (i % 10) + seed_offsets[s] + shift + wobble));
    }
  }
  return runs;
}

double sd(const std::vector<double>& v) {
  double m = 0, ss = 0;
  for (double x : v) m += x;
  m /= static_cast<double>(v.size());
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(v.size() - 1));
}

// Two seeds: resampling them gives seed means at the two extremes (1/4 each) and their average; with the
// sqrt(K/(K-1)) inflation the extremes sit at mean ± the seeds' sample SD, so the 95 % interval is exactly that wide
// (the materials here hardly vary, so the seeds dominate).
TEST(TwoLevelBootstrap, TwoSeedsGiveTheMeanPlusMinusTheirStandardDeviation) {
  const SeedRuns runs = seeded({0.0, 0.004});
  const ArmSummary s = summarize_arm(runs);
  EXPECT_EQ(s.seeds, 2u);
  EXPECT_NEAR(s.sd_per_mat_mean, 0.004 / std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(s.per_mat_mean.value, (s.seed_per_mat_mean[0] + s.seed_per_mat_mean[1]) / 2, 1e-15);
  EXPECT_NEAR(s.per_mat_mean.hi - s.per_mat_mean.value, s.sd_per_mat_mean, 0.03 * s.sd_per_mat_mean);
  EXPECT_NEAR(s.per_mat_mean.value - s.per_mat_mean.lo, s.sd_per_mat_mean, 0.03 * s.sd_per_mat_mean);
}

// Many seeds: the interval's half width approaches 1.96 × SD / sqrt(K), the normal interval of a K-seed mean.
TEST(TwoLevelBootstrap, IntervalWidthFollowsAKnownSeedVariance) {
  std::vector<double> offsets;
  for (int s = 0; s < 16; ++s) offsets.push_back(0.003 * std::sin(1.7 * s + 0.3));
  const ArmSummary arm = summarize_arm(seeded(offsets));
  const double expected = 1.96 * sd(offsets) / std::sqrt(16.0);
  EXPECT_NEAR((arm.per_mat_mean.hi - arm.per_mat_mean.lo) / 2, expected, 0.25 * expected);
  // No seed variance at all: the interval is the materials' alone, far narrower.
  const ArmSummary flat = summarize_arm(seeded(std::vector<double>(16, 0.001)));
  EXPECT_LT(flat.per_mat_mean.hi - flat.per_mat_mean.lo, 0.1 * (arm.per_mat_mean.hi - arm.per_mat_mean.lo));
}

// The seed spread enters the difference's interval: a shift that a one-seed comparison calls certain is
// inconclusive when the seeds disagree as much as the shift.
TEST(TwoLevelBootstrap, SeedVarianceWidensTheDifferenceAndCanOverturnAVerdict) {
  const SeedRuns a = seeded({0.0, 0.0}, 0, 0.0002), b = seeded({0.0, 0.006}, 0.002, 0.0002);
  const PairedComparison one_seed = compare_paired({a[0]}, {b[0]});
  EXPECT_EQ(judge(one_seed).h1, Verdict::supported);  // +0.2 pp, tight
  const PairedComparison two_seeds = compare_paired(a, b);
  EXPECT_EQ(two_seeds.seeds, 2u);
  EXPECT_NEAR(two_seeds.d_per_mat_mean.value, 0.005, 1e-9);  // (0.002 + 0.008) / 2
  EXPECT_NEAR(two_seeds.seed_d_per_mat_mean[1] - two_seeds.seed_d_per_mat_mean[0], 0.006, 1e-9);
  EXPECT_LT(two_seeds.d_per_mat_mean.lo, kH1Threshold);
  EXPECT_EQ(judge(two_seeds).h1, Verdict::inconclusive);
  EXPECT_GT(two_seeds.d_per_mat_mean.hi - two_seeds.d_per_mat_mean.lo, 5 * (one_seed.d_per_mat_mean.hi - one_seed.d_per_mat_mean.lo));
}

// The noise control: two seeds of one arm compared as if they were the arms. Identical seeds show no effect; seeds
// that differ by a constant show exactly that constant, with the tight materials-only interval a one-seed study has.
TEST(TwoLevelBootstrap, NoiseControlShowsWhatTheSeedAloneDoes) {
  const SeedRuns same = seeded({0.0, 0.0}, 0, 0.001);
  const PairedComparison none = compare_paired({same[0]}, {same[0]});
  EXPECT_EQ(none.d_per_mat_mean.value, 0);
  EXPECT_EQ(none.d_per_mat_mean.lo, 0);
  EXPECT_EQ(judge(none).h1, Verdict::not_supported);
  const SeedRuns lucky = seeded({0.0, 0.003}, 0, 0.001);
  const PairedComparison luck = compare_paired({lucky[0]}, {lucky[1]});
  EXPECT_NEAR(luck.d_per_mat_mean.value, 0.003, 1e-4);
  EXPECT_EQ(judge(luck).h1, Verdict::supported);  // what one seed per arm would have concluded
}

TEST(TwoLevelBootstrap, ArmsOfDifferentSeedCountsOrSetsAreRefused) {
  const SeedRuns two = seeded({0.0, 0.001}), one = seeded({0.0});
  EXPECT_THROW(compare_paired(two, one), std::invalid_argument);
  SeedRuns other = seeded({0.0, 0.001});
  other[1][5].id = "elsewhere";
  EXPECT_THROW(summarize_arm(other), std::invalid_argument);
  EXPECT_THROW(SeedTable({{0.1, 0.2}, {0.1}}), std::invalid_argument);
}

}  // namespace
}  // namespace rhotrain
