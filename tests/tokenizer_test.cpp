// The v3 layout, token by token, for several atom counts; the position codec; skip rules.
#include <gtest/gtest.h>

#include <cmath>

#include "common/random.h"
#include "sampler/v3_tokenizer.h"
#include "tests/test_support.h"

namespace rhotrain {
namespace {

LmqCodec small_codec() {
  std::vector<double> levels;
  for (int i = 0; i < 256; ++i) levels.push_back(0.01 * (i + 1));
  return LmqCodec(levels, 2.56);
}

Material crystal(int n_atoms) {
  Material m = test::toy_material("x", {14, 15, 16});
  m.lattice = Eigen::Matrix3d::Identity() * 4.0;
  m.lattice(1, 0) = 1.0;  // b tilted in the a-b plane: γ = atan2(4, 1)
  m.numbers.clear();
  m.frac_coords.clear();
  Rng rng(n_atoms);
  for (int a = 0; a < n_atoms; ++a) {
    m.numbers.push_back(1 + a % 118);
    m.frac_coords.emplace_back(rng.uniform(), rng.uniform(), rng.uniform());
  }
  return m;
}

TEST(V3Tokenizer, LayoutAndOffsetsForSeveralAtomCounts) {
  const int P = 3;
  const V3Tokenizer tok(P, small_codec(), 8192);
  for (int n : {1, 2, 7, 40}) {
    SCOPED_TRACE(n);
    const Material m = crystal(n);
    const Grid origin{13, 0, 5};
    std::vector<float> patch(P * P * P);
    gather_patch(m.grid, m.density.data(), origin, P, patch.data());
    std::vector<int32_t> t(tok.sequence_length(n)), bins(patch.size());
    ASSERT_EQ(t.size(), static_cast<size_t>(10 * n + 21 + P * P * P));
    tok.encode(m, origin, patch.data(), t.data(), bins.data());

    EXPECT_EQ(t[0], v3::BOS);
    EXPECT_EQ(t[1], v3::GRID_START);
    EXPECT_EQ(t[2], 138 + 14);
    EXPECT_EQ(t[3], 138 + 15);
    EXPECT_EQ(t[4], 138 + 16);
    EXPECT_EQ(t[5], v3::GRID_END);
    EXPECT_EQ(t[6], v3::LATTICE_START);
    EXPECT_EQ(t[7], 138 + 80);                                        // a = 4 Å / 0.05
    EXPECT_EQ(t[8], 138 + std::lround(std::sqrt(17.0) / 0.05));       // b = |(1,4,0)|
    EXPECT_EQ(t[9], 138 + 80);
    EXPECT_EQ(t[10], 138 + 450);                                      // α = 90° / 0.2
    EXPECT_EQ(t[11], 138 + 450);                                      // β
    EXPECT_EQ(t[12], 138 + std::lround(std::atan2(4.0, 1.0) * 180 / M_PI / 0.2));  // γ
    EXPECT_EQ(t[13], v3::LATTICE_END);
    EXPECT_EQ(t[14], v3::ATOMS_START);
    for (int a = 0; a < n; ++a) EXPECT_EQ(t[15 + a], 20 + m.numbers[a] - 1);
    EXPECT_EQ(t[15 + n], v3::ATOMS_END);
    EXPECT_EQ(t[16 + n], v3::POS_START);
    for (int a = 0; a < n; ++a)
      for (int d = 0; d < 3; ++d) {
        const int32_t* p = &t[17 + n + 9 * a + 3 * d];
        EXPECT_GE(p[0], 1162);
        EXPECT_LT(p[0], 1162 + 256);  // relative coordinates are never negative
        EXPECT_GE(p[1], 1674);
        EXPECT_LT(p[1], 1930);
        EXPECT_GE(p[2], 1930);
        EXPECT_LT(p[2], 2186);
        double expect = m.frac_coords[a][d] - double(origin[d]) / m.grid[d];
        expect -= std::floor(expect);
        EXPECT_NEAR(v3::decode_position(p), expect, std::max(1e-4, 6e-7 * expect));
      }
    EXPECT_EQ(t[17 + 10 * n], v3::POS_END);
    ASSERT_EQ(v3::dens_start(n), 10 * n + 18);
    EXPECT_EQ(t[18 + 10 * n], v3::DENS_START);
    for (int v = 0; v < P * P * P; ++v) {
      EXPECT_EQ(t[19 + 10 * n + v], 2186 + bins[v]);
      EXPECT_EQ(bins[v], tok.codec().encode(patch[v]));
    }
    EXPECT_EQ(t[19 + 10 * n + P * P * P], v3::DENS_END);
    EXPECT_EQ(t[20 + 10 * n + P * P * P], v3::EOS);
    // The named places of sampler/v3_layout.h, by which the model reads sequences, are these same positions.
    EXPECT_EQ(t[v3::kGridIndex - 1], v3::GRID_START);
    EXPECT_EQ(t[v3::kLatticeIndex - 1], v3::LATTICE_START);
    EXPECT_EQ(t[v3::kSpeciesIndex - 1], v3::ATOMS_START);
    EXPECT_EQ(t[v3::kSpeciesIndex + n], v3::ATOMS_END);
    EXPECT_EQ(t[v3::first_position_index(n) - 1], v3::POS_START);
    EXPECT_EQ(t[v3::first_position_index(n) + v3::kPositionTokensPerAtom * n], v3::POS_END);
    EXPECT_EQ(t[v3::dens_start(n)], v3::DENS_START);
    EXPECT_EQ(v3::sequence_length(n, P * P * P), static_cast<int>(t.size()));
    std::vector<float> decoded(patch.size());
    tok.decode_density(&t[19 + 10 * n], patch.size(), decoded.data());
    for (size_t v = 0; v < patch.size(); ++v) EXPECT_EQ(decoded[v], tok.codec().decode(bins[v]));
  }
}

TEST(V3Tokenizer, PositionCodecRoundTripsWithinItsResolution) {
  Rng rng(9);
  for (int i = 0; i < 100000; ++i) {
    const double c = std::pow(10.0, rng.uniform(-4, 0));
    int32_t t[3];
    v3::encode_position(c, t);
    ASSERT_NEAR(v3::decode_position(t), c, c * 4 * std::log(10.0) / ((1 << 24) - 1)) << c;
    v3::encode_position(-c, t);
    ASSERT_GE(t[0], 1162 + 256);
    ASSERT_NEAR(v3::decode_position(t), -c, c * 6e-7);
  }
  int32_t t[3];
  v3::encode_position(0.0, t);
  EXPECT_EQ(t[0], 1162);
  EXPECT_EQ(t[1], 1674);
  EXPECT_EQ(t[2], 1930);
  EXPECT_EQ(v3::decode_position(t), 0.0);
  v3::encode_position(5e-5, t);  // below 1e-4 the log is clipped: bin 0
  EXPECT_EQ(v3::decode_position(t), 0.0);
  v3::encode_position(0.999999999, t);
  EXPECT_EQ(t[0], 1162 + 255);
  EXPECT_EQ(t[1], 1674 + 255);
}

TEST(V3Tokenizer, MaterialsThatDoNotFitAreSkippedWithAReason) {
  const V3Tokenizer tok(6, small_codec(), 600);  // 10N + 21 + 216 ≤ 600 → N ≤ 36
  EXPECT_EQ(tok.skip_reason(crystal(36)), "");
  EXPECT_NE(tok.skip_reason(crystal(37)).find("max_len"), std::string::npos);
  Material big = crystal(2);
  big.lattice(0, 0) = 52.0;  // 52 / 0.05 = 1040 > 1023
  EXPECT_NE(tok.skip_reason(big).find("out of range"), std::string::npos);
  SkipReport report;
  std::vector<Material> ms = {crystal(3), crystal(40), big};
  ms[0].id = "ok", ms[1].id = "long", ms[2].id = "wide";
  const auto kept = tokenizable_ids({"ok", "long", "wide"},
                                    [&](const std::string& id) -> const MaterialMeta& {
                                      return id == "ok" ? ms[0] : id == "long" ? ms[1] : ms[2];
                                    },
                                    tok, report);
  EXPECT_EQ(kept, std::vector<std::string>{"ok"});
  EXPECT_EQ(report.skipped(), 2u);
  std::ostringstream os;
  report.print(os, "test");
  EXPECT_NE(os.str().find("skipped 2 of 3"), std::string::npos) << os.str();
}

}  // namespace
}  // namespace rhotrain
