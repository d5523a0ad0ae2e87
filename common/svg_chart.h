// A minimal SVG chart writer for the plots rhotrain puts beside its reports (histograms, per-decile curves).
// Linear or log x axis with ticks at round values, line / step / point series with optional interval bars and a
// legend; no dependencies, readable in any browser.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace rhotrain {

struct SvgSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), x ascending for lines
  enum class Style { line, step, points } style = Style::line;
  std::vector<std::pair<double, double>> bars;    // optional: (low, high) of an interval at each point
};

struct SvgChart {
  std::string title, x_label, y_label;
  bool log_x = false;
  std::vector<SvgSeries> series;
  bool integer_x = false;  // a tick at every integer (categories such as deciles)

  std::string render(int width = 720, int height = 420) const;
};

}  // namespace rhotrain
