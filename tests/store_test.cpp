// The HDF5 store: exact round trip, patch reads with periodic wrap, the bounded cache, shards, bad files.
#include <H5Cpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "common/error.h"
#include "materials/store.h"
#include "tests/test_support.h"

namespace rhotrain {
namespace {

using test::TempDir;
using test::toy_material;

std::string write_store(const std::string& path, const std::vector<Material>& materials,
                        const std::vector<std::pair<std::string, std::vector<std::string>>>& splits = {}) {
  StoreWriter w(path, StoreWriter::Mode::create);
  for (const auto& m : materials) w.write(m);
  for (const auto& [name, ids] : splits) w.write_split(name, ids);
  w.close();
  return path;
}

using test::error_of;

TEST(Store, MaterialRoundTripIsExact) {
  TempDir dir;
  const Material m = toy_material("toy-1", {17, 20, 33});
  MaterialStore store({write_store(dir.file("s.h5"), {m})});
  const Material r = store.read("toy-1");
  EXPECT_EQ(r.grid, m.grid);
  EXPECT_EQ(r.numbers, m.numbers);
  EXPECT_EQ(r.lattice, m.lattice);
  EXPECT_EQ(r.density, m.density);
  EXPECT_EQ(r.frac_coords, m.frac_coords);
  EXPECT_DOUBLE_EQ(r.n_electrons, 36);
  EXPECT_DOUBLE_EQ(r.n_electrons_grid, m.n_electrons_grid);
  EXPECT_EQ(r.source, "toy");
}

TEST(Store, FileFollowsTheDesignLayout) {
  TempDir dir;
  write_store(dir.file("s.h5"), {toy_material("a", {12, 13, 14})}, {{"train", {"a"}}});
  H5::H5File f(dir.file("s.h5"), H5F_ACC_RDONLY);
  std::string format;
  H5::Attribute fa = f.openGroup("/").openAttribute("format");
  fa.read(fa.getStrType(), format);
  EXPECT_EQ(format, "rhotrain-store");
  H5::DataSet d = f.openDataSet("/materials/a/density");
  hsize_t dims[3];
  d.getSpace().getSimpleExtentDims(dims);
  EXPECT_EQ(dims[0], 12u);
  EXPECT_EQ(dims[2], 14u);
  EXPECT_EQ(d.getCreatePlist().getLayout(), H5D_CHUNKED);
  EXPECT_GE(d.getCreatePlist().getNfilters(), 2);  // shuffle + gzip
  EXPECT_TRUE(f.openGroup("/materials/a").attrExists("n_electrons_grid"));
  EXPECT_EQ(f.openDataSet("/materials/a/lattice").getDataType(), H5::PredType::NATIVE_DOUBLE);
  EXPECT_TRUE(H5Lexists(f.getId(), "/splits/train", H5P_DEFAULT) > 0);
}

// Every patch equals the periodic gather from the full grid, across block boundaries and wraps,
// including patches larger than the grid.
TEST(Store, PatchesMatchThePeriodicGatherOfTheFullGrid) {
  TempDir dir;
  const Material m = toy_material("p", {37, 20, 12});
  MaterialStore store({write_store(dir.file("s.h5"), {m})}, 1 << 20);
  for (int patch : {1, 6, 16, 19}) {
    for (Grid o : std::vector<Grid>{{0, 0, 0}, {30, 15, 7}, {36, 19, 11}, {15, 3, 0}, {-1, 45, 25}}) {
      std::vector<float> got(static_cast<size_t>(patch) * patch * patch);
      store.read_patch("p", o, patch, got.data());
      size_t w = 0;
      for (int a = 0; a < patch; ++a)
        for (int b = 0; b < patch; ++b)
          for (int c = 0; c < patch; ++c) {
            const int i = ((o[0] + a) % 37 + 37) % 37, j = ((o[1] + b) % 20 + 20) % 20, k = ((o[2] + c) % 12 + 12) % 12;
            ASSERT_EQ(got[w++], m.density[(static_cast<size_t>(i) * 20 + j) * 12 + k])
                << "P=" << patch << " origin " << o[0] << "," << o[1] << "," << o[2];
          }
    }
  }
}

TEST(Store, CacheStaysWithinItsBudgetAndServesRepeats) {
  TempDir dir;
  std::vector<Material> ms;
  for (int i = 0; i < 6; ++i) ms.push_back(toy_material("m" + std::to_string(i), {40, 40, 40}, i));
  const std::string path = write_store(dir.file("s.h5"), ms);
  const size_t budget = 20 * 16 * 16 * 16 * sizeof(float);  // 20 blocks
  MaterialStore store({path}, budget);
  std::vector<float> out(8 * 8 * 8);
  for (int i = 0; i < 6; ++i)
    for (int x = 0; x < 40; x += 7) store.read_patch("m" + std::to_string(i), {x, x, x}, 8, out.data());
  EXPECT_LE(store.cache_stats().bytes, budget);
  const auto before = store.cache_stats();
  store.read_patch("m5", {35, 35, 35}, 8, out.data());  // just read: all its blocks are cached
  EXPECT_EQ(store.cache_stats().misses, before.misses);
  EXPECT_GT(store.cache_stats().hits, before.hits);
}

TEST(Store, ConcurrentPatchReadsAgree) {
  TempDir dir;
  const Material m = toy_material("c", {33, 29, 41});
  MaterialStore store({write_store(dir.file("s.h5"), {m})}, 64 * 16 * 16 * 16 * 4);
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      std::vector<float> a(9 * 9 * 9), b(9 * 9 * 9);
      for (int i = 0; i < 200; ++i) {
        const Grid o{(i * 7 + t) % 33, (i * 5) % 29, (i * 3 + t) % 41};
        store.read_patch("c", o, 9, a.data());
        store.read_patch("c", o, 9, b.data());
        if (a != b || a[0] != m.density[(static_cast<size_t>(o[0]) * 29 + o[1]) * 41 + o[2]]) ++mismatches;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(Store, ShardsMergeIdsAndSplits) {
  TempDir dir;
  write_store(dir.file("shard-0.h5"), {toy_material("a", {12, 12, 12}), toy_material("b", {12, 12, 12})},
              {{"train", {"a", "b"}}});
  write_store(dir.file("shard-1.h5"), {toy_material("c", {12, 12, 12})}, {{"train", {"c"}}, {"val", {"c"}}});
  MaterialStore store(expand_store_paths({dir.file("shard-*.h5")}));
  EXPECT_EQ(store.ids(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(store.split("train"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(store.split_sizes().at("val"), 1u);
  EXPECT_EQ(store.read("c").grid, (Grid{12, 12, 12}));
}

TEST(Store, DuplicateIdsAcrossShardsAreRefused) {
  TempDir dir;
  write_store(dir.file("x.h5"), {toy_material("a", {12, 12, 12})});
  write_store(dir.file("y.h5"), {toy_material("a", {12, 12, 12})});
  const std::string err = error_of([&] { MaterialStore s({dir.file("x.h5"), dir.file("y.h5")}); });
  EXPECT_NE(err.find("'a'"), std::string::npos) << err;
  EXPECT_NE(err.find("y.h5"), std::string::npos) << err;
}

TEST(Store, WriterRefusesDuplicateIdUnlessOverwriting) {
  TempDir dir;
  StoreWriter w(dir.file("s.h5"), StoreWriter::Mode::create);
  Material m = toy_material("a", {12, 12, 12});
  w.write(m);
  EXPECT_NE(error_of([&] { w.write(m); }).find("already exists"), std::string::npos);
  m.density[0] = 42.0f;
  w.write(m, true);
  w.close();
  EXPECT_EQ(MaterialStore({dir.file("s.h5")}).read("a").density[0], 42.0f);
}

TEST(Store, MissingAndEmptySplitsAreErrors) {
  TempDir dir;
  write_store(dir.file("s.h5"), {toy_material("a", {12, 12, 12})}, {{"train", {"a"}}});
  {  // an empty split, as another tool might write it
    H5::H5File f(dir.file("s.h5"), H5F_ACC_RDWR);
    const hsize_t zero = 0;
    H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
    f.createDataSet("/splits/val", t, H5::DataSpace(1, &zero));
  }
  MaterialStore store({dir.file("s.h5")});
  const std::string empty = error_of([&] { store.split("val"); });
  EXPECT_NE(empty.find("split 'val' is empty"), std::string::npos) << empty;
  EXPECT_NE(empty.find("s.h5"), std::string::npos) << empty;
  const std::string missing = error_of([&] { store.split("test"); });
  EXPECT_NE(missing.find("no split 'test'"), std::string::npos) << missing;
}

TEST(Store, ForeignNewerCorruptAndMissingFilesAreRefusedByName) {
  TempDir dir;
  {
    H5::H5File f(dir.file("foreign.h5"), H5F_ACC_TRUNC);
    H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
    f.openGroup("/").createAttribute("format", t, H5::DataSpace(H5S_SCALAR)).write(t, std::string("something-else"));
  }
  const std::string foreign = error_of([&] { MaterialStore s({dir.file("foreign.h5")}); });
  EXPECT_NE(foreign.find("foreign.h5: not a rhotrain store"), std::string::npos) << foreign;

  write_store(dir.file("newer.h5"), {toy_material("a", {12, 12, 12})});
  {
    H5::H5File f(dir.file("newer.h5"), H5F_ACC_RDWR);
    const int v = 3;
    f.openGroup("/").openAttribute("version").write(H5::PredType::NATIVE_INT, &v);
  }
  const std::string newer = error_of([&] { MaterialStore s({dir.file("newer.h5")}); });
  EXPECT_NE(newer.find("newer.h5: store version 3 is newer"), std::string::npos) << newer;

  test::write_file(dir.file("text.h5"), "this is not hdf5\n");
  EXPECT_NE(error_of([&] { MaterialStore s({dir.file("text.h5")}); }).find("text.h5: not an HDF5 file"),
            std::string::npos);

  write_store(dir.file("cut.h5"), {toy_material("a", {40, 40, 40})});
  const std::string whole = test::read_file(dir.file("cut.h5"));
  test::write_file(dir.file("cut.h5"), whole.substr(0, whole.size() / 2));
  const std::string cut = error_of([&] {
    MaterialStore s({dir.file("cut.h5")});
    s.read("a");
  });
  EXPECT_NE(cut.find("cut.h5"), std::string::npos) << cut;

  EXPECT_NE(error_of([&] { MaterialStore s({dir.file("nope.h5")}); }).find("nope.h5: no such file"),
            std::string::npos);
}

}  // namespace
}  // namespace rhotrain
