// The report's plots: axes end on round values with ticks at 1-2-5 steps, log axes read 10, 100, 1000, decile axes
// tick every integer, and interval bars are drawn.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <regex>

#include "common/svg_chart.h"

namespace rhotrain {
namespace {

// The text of every tick label (the numeric texts with that anchor), in order.
std::vector<std::string> labels(const std::string& svg, const std::string& anchor) {
  std::vector<std::string> out;
  const std::regex tick("text-anchor=\"" + anchor + "\">([^<]*)</text>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), tick); it != std::sregex_iterator(); ++it) {
    const std::string text = (*it)[1];
    if (!text.empty() && (std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '-')) out.push_back(text);
  }
  return out;
}

bool round_value(double v) {
  if (v == 0) return true;
  const double m = std::fabs(v) / std::pow(10.0, std::floor(std::log10(std::fabs(v)) + 1e-9));
  for (double r : {1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0})
    if (std::fabs(m - r) < 1e-6) return true;
  return false;
}

TEST(SvgChart, LogAxisIsLabelledInPlainDecades) {
  SvgChart c{"t", "n_e", "NMAE %", true, {}};
  c.series.push_back({"a", {{12, 7.3}, {150, 8.1}, {4100, 9.7}}, SvgSeries::Style::points, {}});
  const auto x = labels(c.render(), "middle");
  for (const char* want : {"10", "100", "1000", "5000"}) EXPECT_NE(std::find(x.begin(), x.end(), want), x.end()) << want;
  for (const auto& l : x) EXPECT_EQ(l.find('e'), std::string::npos) << l;
}

// A log axis ends at the 1-2-5 values around the data, not at whole decades: n_e from 40 to 90 gets 20 to 100, where
// decades (10 to 100) would leave the data in the right third of the plot.
TEST(SvgChart, LogAxisSpansTheData) {
  SvgChart c{"t", "n_e", "NMAE %", true, {}};
  c.series.push_back({"a", {{40, 3.1}, {55, 2.9}, {90, 4.2}}, SvgSeries::Style::points, {}});
  const auto x = labels(c.render(), "middle");
  ASSERT_FALSE(x.empty());
  EXPECT_EQ(x.front(), "20");
  EXPECT_EQ(x.back(), "100");
  EXPECT_EQ(std::find(x.begin(), x.end(), "10"), x.end());
}

TEST(SvgChart, LinearTicksAreRoundAndDecilesTickEveryInteger) {
  SvgChart c{"t", "decile", "NMAE %", false, {}};
  c.integer_x = true;
  SvgSeries s{"a", {}, SvgSeries::Style::line, {}};
  for (int d = 0; d < 10; ++d) {
    s.points.emplace_back(d - 0.08, 7.37 + 0.211 * d);
    s.bars.emplace_back(7.1 + 0.211 * d, 7.6 + 0.211 * d);
  }
  c.series.push_back(s);
  const std::string svg = c.render();
  const auto x = labels(svg, "middle");
  for (int d = 0; d < 10; ++d) EXPECT_NE(std::find(x.begin(), x.end(), std::to_string(d)), x.end()) << d;
  const auto y = labels(svg, "end");
  ASSERT_GE(y.size(), 3u);
  const double step = std::stod(y[1]) - std::stod(y[0]);
  EXPECT_TRUE(round_value(step)) << step;
  for (const auto& l : y) EXPECT_NEAR(std::fmod(std::stod(l) + 1e-9, step), 0, 1e-6) << l;
  EXPECT_LE(std::stod(y.front()), 7.1);
  EXPECT_GE(std::stod(y.back()), 7.6 + 0.211 * 9);
  // One bar (a vertical path with two caps) per decile.
  size_t bars = 0;
  for (size_t at = svg.find("<path d=\"M"); at != std::string::npos; at = svg.find("<path d=\"M", at + 1)) ++bars;
  EXPECT_EQ(bars, 10u);
}

}  // namespace
}  // namespace rhotrain
