#include <gtest/gtest.h>

#include "materials/elements.h"
#include "materials/error.h"

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

}  // namespace rhotrain
