// A minimal SVG chart writer for the plots rhotrain puts beside its reports (histograms, per-decile curves).
// Linear or log x axis, line / step / point series with a legend; no dependencies, readable in any browser.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace rhotrain {

struct SvgSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), x ascending for lines
  enum class Style { line, step, points } style = Style::line;
};

struct SvgChart {
  std::string title, x_label, y_label;
  bool log_x = false;
  std::vector<SvgSeries> series;

  std::string render(int width = 720, int height = 420) const;
};

}  // namespace rhotrain
