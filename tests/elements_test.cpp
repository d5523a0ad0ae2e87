#include <gtest/gtest.h>

#include "common/elements.h"
#include "common/error.h"

namespace rhotrain {

TEST(Elements, SymbolsAndNumbersRoundTrip) {
  for (int z = 1; z <= kMaxZ; ++z) EXPECT_EQ(atomic_number(element_symbol(z)), z) << z;
}

TEST(Elements, AcceptsPotcarStyleNames) {
  EXPECT_EQ(atomic_number("Si"), 14);
  EXPECT_EQ(atomic_number("si"), 14);
  EXPECT_EQ(atomic_number("Fe_pv"), 26);
  EXPECT_EQ(atomic_number("O_h"), 8);
  EXPECT_EQ(atomic_number("Ca"), 20);
  EXPECT_EQ(atomic_number("C"), 6);
}

TEST(Elements, RejectsUnknownSymbols) {
  EXPECT_EQ(atomic_number("Xx"), 0);
  EXPECT_EQ(atomic_number(""), 0);
  EXPECT_EQ(atomic_number("3"), 0);
  EXPECT_THROW(element_symbol(0), Error);
  EXPECT_THROW(element_symbol(119), Error);
}

TEST(Elements, PlaceInThePeriodicTable) {
  struct Want {
    const char* symbol;
    int period, group, block, valence;
  };
  const Want cases[] = {{"H", 1, 1, 0, 1},   {"He", 1, 18, 0, 2}, {"Li", 2, 1, 0, 1},  {"C", 2, 14, 1, 4},
                        {"Ne", 2, 18, 1, 8}, {"Al", 3, 13, 1, 3}, {"K", 4, 1, 0, 1},   {"Sc", 4, 3, 2, 3},
                        {"Fe", 4, 8, 2, 8},  {"Zn", 4, 12, 2, 12}, {"Ga", 4, 13, 1, 13}, {"Ba", 6, 2, 0, 2},
                        {"La", 6, 3, 3, 3},  {"Lu", 6, 3, 3, 17}, {"Hf", 6, 4, 2, 18}, {"Bi", 6, 15, 1, 29},
                        {"Rn", 6, 18, 1, 32}, {"U", 7, 3, 3, 6},  {"Og", 7, 18, 1, 32}};
  for (const auto& w : cases) {
    const ElementPlace e = element_place(atomic_number(w.symbol));
    EXPECT_EQ(e.period, w.period) << w.symbol;
    EXPECT_EQ(e.group, w.group) << w.symbol;
    EXPECT_EQ(e.block, w.block) << w.symbol;
    EXPECT_EQ(e.valence, w.valence) << w.symbol;
  }
  const auto f = element_features(atomic_number("Fe"));
  EXPECT_EQ(f[3], 1.0f);       // period 4
  EXPECT_EQ(f[7 + 7], 1.0f);   // group 8
  EXPECT_EQ(f[25 + 2], 1.0f);  // d block
  EXPECT_FLOAT_EQ(f[29], 0.8f);
  EXPECT_FLOAT_EQ(f[30], 0.26f);
  EXPECT_THROW(element_place(119), Error);
}

}  // namespace rhotrain
