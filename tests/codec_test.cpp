// The LMQ codec: Lloyd–Max fit, the fast encoder against a plain searchsorted, floors, file round trip.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "common/random.h"
#include "materials/synthetic.h"
#include "sampler/lmq_codec.h"
#include "tests/test_support.h"

namespace rhotrain {
namespace {

const DensityHistogram& synthetic_histogram() {
  static const DensityHistogram hist = [] {
    DensityHistogram h;
    for (size_t i = 0; i < 40; ++i) {
      const Material m = synthetic_material(11, i);
      h.add(m.density.data(), m.density.size());
    }
    return h;
  }();
  return hist;
}

std::vector<float> validation_density() {
  std::vector<float> all;
  for (size_t i = 100; i < 110; ++i) {
    const Material m = synthetic_material(11, i);
    all.insert(all.end(), m.density.begin(), m.density.end());
  }
  return all;
}

int reference_encode(const LmqCodec& c, float v) {
  const double x = std::clamp(std::isnan(v) ? 0.0 : static_cast<double>(v), 0.0, c.clip_max());
  return static_cast<int>(std::upper_bound(c.boundaries().begin(), c.boundaries().end(), x) - c.boundaries().begin());
}

TEST(LmqCodec, BoundariesAreStrictlyAscendingMidpointsOfLevels) {
  for (int bins : {16, 256, 4096}) {
    const LmqCodec c = LmqCodec::fit(synthetic_histogram(), bins);
    ASSERT_EQ(c.bins(), bins);
    ASSERT_EQ(c.boundaries().size(), static_cast<size_t>(bins - 1));
    for (int j = 1; j < bins; ++j) {
      ASSERT_GT(c.levels()[j], c.levels()[j - 1]) << "bins " << bins << " level " << j;
      ASSERT_DOUBLE_EQ(c.boundaries()[j - 1], 0.5 * (c.levels()[j - 1] + c.levels()[j]));
    }
  }
}

TEST(LmqCodec, FastEncoderEqualsSearchsortedRightEverywhere) {
  const LmqCodec c = LmqCodec::fit(synthetic_histogram(), 1024);
  Rng rng(3);
  std::vector<float> probes = {0.0f, -0.0f, -1.0f, std::numeric_limits<float>::quiet_NaN(), 1e-30f,
                               static_cast<float>(c.clip_max()), static_cast<float>(c.clip_max() * 2), 1e30f};
  for (double b : c.boundaries()) {
    const float f = static_cast<float>(b);
    probes.insert(probes.end(), {f, std::nextafter(f, 0.0f), std::nextafter(f, INFINITY)});
  }
  for (int i = 0; i < 200000; ++i) probes.push_back(static_cast<float>(std::pow(10.0, rng.uniform(-6, 1.5))));
  for (float v : probes) ASSERT_EQ(c.encode(v), reference_encode(c, v)) << "value " << v;
}

TEST(LmqCodec, FloorFallsAsBinsGrow) {
  const auto val = validation_density();
  double previous = 1.0;
  for (int bins : {16, 64, 256, 1024, 4096}) {
    const double floor = codec_floor_nmae(LmqCodec::fit(synthetic_histogram(), bins), val);
    EXPECT_LT(floor, previous) << bins << " bins";
    previous = floor;
  }
  EXPECT_LT(previous, 0.01);
}

TEST(LmqCodec, LloydLevelsAreCellMeansAndDistortionNeverRises) {
  DensityHistogram h;
  const std::vector<float> v = {1, 1, 2, 3, 10, 11, 12, 12};
  h.add(v.data(), v.size());
  LloydReport report;
  const LmqCodec c = LmqCodec::fit(h, 2, 30, &report);
  EXPECT_NEAR(c.levels()[0], 7.0 / 4.0, 1e-4);
  EXPECT_NEAR(c.levels()[1], 45.0 / 4.0, 1e-4);
  EXPECT_EQ(c.encode(3.0f), 0);
  EXPECT_EQ(c.encode(10.0f), 1);

  LloydReport big;
  LmqCodec::fit(synthetic_histogram(), 256, 30, &big);
  for (size_t i = 1; i < big.distortion.size(); ++i) EXPECT_LE(big.distortion[i], big.distortion[i - 1] * (1 + 1e-12));
}

TEST(LmqCodec, FewerDistinctValuesThanBinsStillGivesAValidCodec) {
  DensityHistogram h;
  const std::vector<float> v = {0, 0, 0, 0.5f, 0.5f, 2};
  h.add(v.data(), v.size());
  const LmqCodec c = LmqCodec::fit(h, 16);
  for (int j = 1; j < 16; ++j) ASSERT_GT(c.levels()[j], c.levels()[j - 1]);
  for (float x : v) EXPECT_NEAR(c.decode(c.encode(x)), x, 1e-6);
}

TEST(LmqCodec, FileRoundTripIsBitExact) {
  test::TempDir dir;
  LmqCodec c = LmqCodec::fit(synthetic_histogram(), 512);
  c.fit_split = "train";
  c.save(dir.file("codec.h5"));
  const LmqCodec r = LmqCodec::load(dir.file("codec.h5"));
  EXPECT_EQ(r.boundaries(), c.boundaries());
  EXPECT_EQ(r.levels(), c.levels());
  EXPECT_EQ(r.clip_max(), c.clip_max());
  EXPECT_EQ(r.fit_split, "train");
  EXPECT_EQ(r.fit_voxels, synthetic_histogram().voxels());
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"codec.h5"});
  test::write_file(dir.file("bad.h5"), "not a codec");
  try {
    LmqCodec::load(dir.file("bad.h5"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.h5"), std::string::npos);
  }
}

// A residual codec: signed values, encoded as searchsorted over [clip_min, clip_max].
TEST(LmqCodec, SignedCodecEncodesResidualsOfBothSigns) {
  DensityHistogram h(DensityHistogram::kDefaultBins, 1e-7, 1e5, /*signed_values=*/true);
  Rng rng(5);
  std::vector<float> residuals;
  for (int i = 0; i < 200000; ++i) {
    const double magnitude = std::pow(10.0, rng.uniform(-5, 0.3));
    residuals.push_back(static_cast<float>(rng.uniform() < 0.45 ? -magnitude : magnitude));
  }
  residuals.push_back(0.0f);
  h.add(residuals.data(), residuals.size());
  EXPECT_LT(h.min_value(), -1.0);
  const LmqCodec c = LmqCodec::fit(h, 256);
  EXPECT_EQ(c.clip_min(), h.min_value());
  EXPECT_LT(c.levels().front(), -1.0);
  EXPECT_GT(c.levels().back(), 1.0);
  for (int j = 1; j < c.bins(); ++j) ASSERT_GT(c.levels()[j], c.levels()[j - 1]);
  auto reference = [&](float v) {
    const double x = std::clamp(std::isnan(v) ? 0.0 : static_cast<double>(v), c.clip_min(), c.clip_max());
    return static_cast<int>(std::upper_bound(c.boundaries().begin(), c.boundaries().end(), x) - c.boundaries().begin());
  };
  std::vector<float> probes = {0.0f, -0.0f, std::numeric_limits<float>::quiet_NaN(), -1e30f, 1e30f, static_cast<float>(c.clip_min()),
                               static_cast<float>(c.clip_max())};
  for (double b : c.boundaries()) {
    const float f = static_cast<float>(b);
    probes.insert(probes.end(), {f, std::nextafter(f, -INFINITY), std::nextafter(f, INFINITY)});
  }
  probes.insert(probes.end(), residuals.begin(), residuals.end());
  for (float v : probes) ASSERT_EQ(c.encode(v), reference(v)) << "value " << v;
  // Quantising a residual costs far less than quantising the density: its values are small where the density is large.
  double err = 0, norm = 0;
  for (float v : residuals) err += std::fabs(c.decode(c.encode(v)) - v), norm += std::fabs(v);
  EXPECT_LT(err / norm, 0.05);
}

TEST(LmqCodec, ResidualCodecFloorIsOverTheBaseline) {
  // ρ = atoms + δ: the floor of a residual codec rounds δ only, and an identical codec over zero atoms is the density codec.
  const LmqCodec c({-0.5, 0.0, 0.5}, 1.0, -1.0);
  const std::vector<float> rho = {2.2f, 3.0f, 1.4f}, atoms = {2.0f, 3.0f, 2.0f};
  EXPECT_FLOAT_EQ(codec_round_trip(c, 2.2f, 2.0f), 2.0f);
  EXPECT_FLOAT_EQ(codec_round_trip(c, 1.4f, 2.0f), 1.5f);
  EXPECT_NEAR(codec_floor_nmae(c, rho, atoms), (0.2 + 0.0 + 0.1) / 6.6, 1e-6);
  test::TempDir dir;
  LmqCodec saved = c;
  saved.target = "residual", saved.atoms_fingerprint = 42;
  saved.save(dir.file("r.h5"));
  const LmqCodec back = LmqCodec::load(dir.file("r.h5"));
  EXPECT_EQ(back.target, "residual");
  EXPECT_EQ(back.atoms_fingerprint, 42u);
  EXPECT_EQ(back.clip_min(), -1.0);
  EXPECT_EQ(back.encode(-2.0f), 0);
}

}  // namespace
}  // namespace rhotrain
