#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "common/error.h"
#include "materials/splits.h"

namespace rhotrain {
namespace {

std::vector<std::string> ids(int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back("m" + std::to_string(i));
  return v;
}

TEST(Splits, SameSeedSameSplitsWhateverTheInputOrder) {
  auto a = ids(1000), b = ids(1000);
  std::reverse(b.begin(), b.end());
  const Splits s1 = make_splits(a, 0.25, 7), s2 = make_splits(b, 0.25, 7), s3 = make_splits(a, 0.25, 8);
  EXPECT_EQ(s1.train, s2.train);
  EXPECT_EQ(s1.val, s2.val);
  EXPECT_EQ(s1.val_200, s2.val_200);
  EXPECT_NE(s1.val, s3.val);
}

TEST(Splits, PartitionWithRequestedSizesAndValSampleInsideVal) {
  const Splits s = make_splits(ids(1000), 0.25, 3);
  EXPECT_EQ(s.val.size(), 250u);
  EXPECT_EQ(s.train.size(), 750u);
  std::set<std::string> all(s.train.begin(), s.train.end());
  for (const auto& v : s.val) EXPECT_TRUE(all.insert(v).second) << v << " is in train and val";
  EXPECT_EQ(all.size(), 1000u);
  EXPECT_EQ(s.val_200.size(), 200u);
  for (const auto& v : s.val_200) EXPECT_TRUE(std::binary_search(s.val.begin(), s.val.end(), v));
}

TEST(Splits, SmallValGivesAllOfItAsTheFixedSample) {
  const Splits s = make_splits(ids(100), 0.1, 0);
  EXPECT_EQ(s.val_200, s.val);
}

TEST(Splits, EmptySplitIsAnError) {
  EXPECT_THROW(make_splits(ids(10), 0.01, 0), Error);
  EXPECT_THROW(make_splits(ids(10), 0.99, 0), Error);
  EXPECT_THROW(make_splits(ids(10), 0.0, 0), Error);
}

}  // namespace
}  // namespace rhotrain
