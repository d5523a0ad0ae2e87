// fit-codec, tokenize and preview as a user runs them.
#include <H5Cpp.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "materials/store.h"
#include "sampler/lmq_codec.h"
#include "tests/test_support.h"

namespace rhotrain {
namespace {

using test::run_rhotrain;
using test::TempDir;

class SamplerCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    ASSERT_EQ(run_rhotrain("synth --out " + store() + " --n-train 60 --n-val 10 --seed 5").exit_code, 0);
    ASSERT_EQ(run_rhotrain("fit-codec --store " + store() + " --bins 256 -o " + codec()).exit_code, 0);
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string store() { return dir_->file("s.h5"); }
  static std::string codec() { return dir_->file("codec.h5"); }
  static TempDir* dir_;
};
TempDir* SamplerCli::dir_ = nullptr;

TEST_F(SamplerCli, FitCodecPrintsDistortionAndFloor) {
  TempDir d;
  const auto r = run_rhotrain("fit-codec --store " + store() + " --bins 64 -o " + d.file("c.h5"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("lloyd iteration  1: distortion"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("floor on 'val' (10 materials): per-mat-mean NMAE"), std::string::npos) << r.out;
  EXPECT_EQ(LmqCodec::load(d.file("c.h5")).bins(), 64);
  const auto bad = run_rhotrain("fit-codec --store " + store() + " --bins 8 -o " + d.file("x.h5"));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--bins must be in 16..65536"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(d.file("x.h5")));
}

TEST_F(SamplerCli, TokenizeOnePrintsTheLayoutContract) {
  const auto r = run_rhotrain("tokenize --store " + store() + " --codec " + codec() +
                              " --id synth-000004 --origin 3,4,5 --patch 6");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const int n = j["n_atoms"];
  EXPECT_EQ(j["dens_start"].get<int>(), 10 * n + 18);
  EXPECT_EQ(j["tokens"].size(), static_cast<size_t>(10 * n + 21 + 216));
  EXPECT_EQ(j["tokens"][j["dens_start"].get<int>()].get<int>(), 15);
  const auto missing = run_rhotrain("tokenize --store " + store() + " --codec " + codec() + " --id nope --origin 0,0,0");
  EXPECT_NE(missing.err.find("no material with id 'nope'"), std::string::npos);
}

// .npy shards: parse the header, compare the payload; thread count must not change a byte.
std::pair<std::vector<size_t>, std::string> read_npy(const std::string& path) {
  const std::string raw = test::read_file(path);
  EXPECT_EQ(raw.substr(0, 6), "\x93NUMPY");
  const size_t header_len = static_cast<unsigned char>(raw[8]) | (static_cast<unsigned char>(raw[9]) << 8);
  const std::string header = raw.substr(10, header_len);
  EXPECT_NE(header.find("'descr': '<i4'"), std::string::npos);
  EXPECT_EQ((10 + header_len) % 64, 0u);
  size_t rows = 0, cols = 0;
  std::sscanf(header.c_str() + header.find("'shape': (") + 10, "%zu, %zu", &rows, &cols);
  return {{rows, cols}, raw.substr(10 + header_len)};
}

TEST_F(SamplerCli, BulkExportIsIdenticalForAnyThreadCount) {
  TempDir d;
  const std::string common = "tokenize --store " + store() + " --codec " + codec() +
                             " --patch 6 --max-len 700 --sequences 500 --shard-rows 200 --weighting electrons --seed 3";
  auto r1 = run_rhotrain(common + " --threads 1 --out " + d.file("one"));
  ASSERT_EQ(r1.exit_code, 0) << r1.err;
  EXPECT_NE(r1.out.find("sequences/s"), std::string::npos);
  ASSERT_EQ(run_rhotrain(common + " --threads 2 --out " + d.file("two")).exit_code, 0);
  for (const char* shard : {"tokens-00000.npy", "tokens-00001.npy", "tokens-00002.npy"}) {
    const auto a = read_npy(d.file(std::string("one/") + shard)), b = read_npy(d.file(std::string("two/") + shard));
    EXPECT_EQ(a.first[1], 700u);
    EXPECT_EQ(a.second, b.second) << shard;
    EXPECT_EQ(a.second.size(), a.first[0] * a.first[1] * 4);
  }
  EXPECT_EQ(read_npy(d.file("one/tokens-00002.npy")).first[0], 100u);
  const std::string index = test::read_file(d.file("one/index.jsonl"));
  EXPECT_EQ(std::count(index.begin(), index.end(), '\n'), 500);
  const auto first = nlohmann::json::parse(index.substr(0, index.find('\n')));
  EXPECT_EQ(first["row"], 0);
  EXPECT_EQ(first["origin"].size(), 3u);
}

TEST_F(SamplerCli, PreviewReportsBothWeightingsFromMetadataOnly) {
  // Remove every density grid: the preview must not need one.
  TempDir d;
  std::filesystem::copy_file(store(), d.file("meta.h5"));
  {
    const auto ids = MaterialStore({store()}, 0).ids();
    H5::H5File f(d.file("meta.h5"), H5F_ACC_RDWR);
    for (const auto& id : ids)
      H5Ldelete(f.getId(), ("/materials/" + id + "/density").c_str(), H5P_DEFAULT);
  }
  const auto r = run_rhotrain("preview --store " + d.file("meta.h5") + " --json --patches-per-mat 16 --plot " + d.file("p.svg"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["uniform"]["min"].get<double>(), 16.0);
  EXPECT_EQ(j["uniform"]["max_min_ratio"].get<double>(), 1.0);
  // electrons: M_i ∝ ΣZ, so its max:min is the n_e max:min of the split.
  MaterialStore s({store()}, 0);
  double lo = 1e300, hi = 0;
  for (const auto& id : s.split("train")) lo = std::min(lo, s.meta(id).n_electrons), hi = std::max(hi, s.meta(id).n_electrons);
  EXPECT_NEAR(j["electrons"]["max_min_ratio"].get<double>(), hi / lo, 1e-9 * hi / lo);
  EXPECT_EQ(j["warning"].get<bool>(), hi / lo > 30);
  for (const char* k : {"min", "p10", "p50", "p90", "max", "max_min_ratio", "n_below_1", "epoch0_counts"})
    EXPECT_TRUE(j["electrons"].contains(k)) << k;
  EXPECT_NE(test::read_file(d.file("p.svg")).find("<svg"), std::string::npos);
  // The plot says which electron count drew it.
  EXPECT_NE(test::read_file(d.file("p.svg")).find("n_e = ΣZ (electrons_from sum_z)"), std::string::npos);
  ASSERT_EQ(run_rhotrain("preview --store " + d.file("meta.h5") + " --electrons-from grid --plot " + d.file("g.svg")).exit_code, 0);
  EXPECT_NE(test::read_file(d.file("g.svg")).find("n_e = ∫ρ dV (electrons_from grid)"), std::string::npos);

  const auto table = run_rhotrain("preview --store " + store() + " --plot " + d.file("q.svg"));
  EXPECT_NE(table.out.find("electrons"), std::string::npos);
  EXPECT_NE(table.out.find(hi / lo > 30 ? "WARNING: electrons weighting max:min" : "no warning"), std::string::npos)
      << table.out;
}

// A budget that plans no patches is refused, one line, by every command that plans them (it crashed preview).
TEST_F(SamplerCli, ABudgetOfNoPatchesIsRefusedByPreviewAndTokenize) {
  TempDir d;
  for (const char* m : {"0", "0.001", "-5"}) {
    const auto preview = run_rhotrain("preview --store " + store() + " --patches-per-mat " + m + " --plot " + d.file("p.svg"));
    EXPECT_EQ(preview.exit_code, 1) << m << ": " << preview.err;
    EXPECT_NE(preview.err.find("patches per material"), std::string::npos) << preview.err;
    EXPECT_EQ(std::count(preview.err.begin(), preview.err.end(), '\n'), 1) << preview.err;
    const auto tokenize = run_rhotrain("tokenize --store " + store() + " --codec " + codec() + " --patch 6 --max-len 700 --sequences 5 -o " +
                                       d.file("t") + " --patches-per-mat " + m);
    EXPECT_EQ(tokenize.exit_code, 1) << m << ": " << tokenize.err;
    EXPECT_NE(tokenize.err.find("patches per material"), std::string::npos) << tokenize.err;
  }
  EXPECT_TRUE(d.entries().empty());
}

// --json prints JSON and writes no plot unless one is asked for; an unknown weighting is a usage error (exit 2).
TEST_F(SamplerCli, PreviewJsonWritesNoPlotAndRefusesUnknownWeightings) {
  TempDir d;
  std::filesystem::copy_file(store(), d.file("s.h5"));
  ASSERT_EQ(run_rhotrain("preview --store " + d.file("s.h5") + " --json").exit_code, 0);
  EXPECT_EQ(d.entries(), std::vector<std::string>{"s.h5"});
  const auto bogus = run_rhotrain("preview --store " + d.file("s.h5") + " --weighting bogus");
  EXPECT_EQ(bogus.exit_code, 2) << bogus.err;
  EXPECT_NE(bogus.err.find("--weighting must be one of uniform|electrons, not 'bogus'"), std::string::npos) << bogus.err;
}

// A floor split that does not exist fails before the fit and leaves no codec behind; the output flag is -o/--out,
// and the older --output still works.
TEST_F(SamplerCli, FitCodecChecksTheFloorSplitFirstAndLeavesNoFile) {
  TempDir d;
  const auto r = run_rhotrain("fit-codec --store " + store() + " --bins 32 --floor-split empty -o " + d.file("c.h5"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no split 'empty'"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("lloyd iteration"), std::string::npos) << "it fitted before checking the split";
  EXPECT_TRUE(d.entries().empty());
  ASSERT_EQ(run_rhotrain("fit-codec --store " + store() + " --bins 32 --output " + d.file("c.h5")).exit_code, 0);
  EXPECT_EQ(LmqCodec::load(d.file("c.h5")).bins(), 32);
}

}  // namespace
}  // namespace rhotrain
