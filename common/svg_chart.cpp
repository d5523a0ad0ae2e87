#include "common/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace rhotrain {
namespace {

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

}  // namespace

std::string SvgChart::render(int width, int height) const {
  const double left = 84, right = 20, top = 40, bottom = 55;
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = 0, y1 = -x0;
  for (const auto& s : series)
    for (const auto& [x, y] : s.points) {
      if (log_x && !(x > 0)) continue;
      const double xv = log_x ? std::log10(x) : x;
      x0 = std::min(x0, xv), x1 = std::max(x1, xv), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  if (!(x1 > x0)) x0 -= 0.5, x1 += 0.5;
  if (!(y1 > y0)) y1 = y0 + 1;
  y1 += 0.05 * (y1 - y0);
  const double pw = width - left - right, ph = height - top - bottom;
  auto sx = [&](double x) { return left + ((log_x ? std::log10(x) : x) - x0) / (x1 - x0) * pw; };
  auto sy = [&](double y) { return top + ph - (y - y0) / (y1 - y0) * ph; };

  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" +
                    std::to_string(height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + fmt("%.0f", width / 2.0) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">" + escape(title) + "</text>\n";
  svg += "<rect x=\"" + fmt("%.1f", left) + "\" y=\"" + fmt("%.1f", top) + "\" width=\"" + fmt("%.1f", pw) +
         "\" height=\"" + fmt("%.1f", ph) + "\" fill=\"none\" stroke=\"#444\"/>\n";
  // Ticks: decades on a log axis, five even steps otherwise.
  std::vector<double> xticks;
  if (log_x)
    for (double d = std::ceil(x0); d <= std::floor(x1); d += 1) xticks.push_back(std::pow(10.0, d));
  if (xticks.size() < 2) {
    xticks.clear();
    for (int i = 0; i <= 5; ++i) xticks.push_back(log_x ? std::pow(10.0, x0 + (x1 - x0) * i / 5) : x0 + (x1 - x0) * i / 5);
  }
  for (double t : xticks)
    svg += "<line x1=\"" + fmt("%.1f", sx(t)) + "\" x2=\"" + fmt("%.1f", sx(t)) + "\" y1=\"" + fmt("%.1f", top + ph) +
           "\" y2=\"" + fmt("%.1f", top + ph + 5) + "\" stroke=\"#444\"/><text x=\"" + fmt("%.1f", sx(t)) + "\" y=\"" +
           fmt("%.1f", top + ph + 18) + "\" text-anchor=\"middle\">" + fmt("%.3g", t) + "</text>\n";
  for (int i = 0; i <= 5; ++i) {
    const double t = y0 + (y1 - y0) * i / 5;
    svg += "<line x1=\"" + fmt("%.1f", left - 5) + "\" x2=\"" + fmt("%.1f", left) + "\" y1=\"" + fmt("%.1f", sy(t)) +
           "\" y2=\"" + fmt("%.1f", sy(t)) + "\" stroke=\"#444\"/><text x=\"" + fmt("%.1f", left - 8) + "\" y=\"" +
           fmt("%.1f", sy(t) + 4) + "\" text-anchor=\"end\">" + fmt("%.4g", t) + "</text>\n";
  }
  svg += "<text x=\"" + fmt("%.1f", left + pw / 2) + "\" y=\"" + fmt("%.1f", height - 12.0) + "\" text-anchor=\"middle\">" +
         escape(x_label) + (log_x ? " (log scale)" : "") + "</text>\n";
  svg += "<text transform=\"translate(16," + fmt("%.1f", top + ph / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
         escape(y_label) + "</text>\n";

  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const char* color = kColors[k % (sizeof kColors / sizeof *kColors)];
    std::string pts;
    for (size_t i = 0; i < s.points.size(); ++i) {
      const auto [x, y] = s.points[i];
      if (log_x && !(x > 0)) continue;
      if (s.style == SvgSeries::Style::points) {
        svg += "<circle cx=\"" + fmt("%.1f", sx(x)) + "\" cy=\"" + fmt("%.1f", sy(y)) + "\" r=\"2.5\" fill=\"" + color +
               "\" fill-opacity=\"0.6\"/>\n";
        continue;
      }
      if (s.style == SvgSeries::Style::step && !pts.empty()) pts += fmt("%.1f,", sx(x)) + fmt("%.1f ", sy(s.points[i - 1].second));
      pts += fmt("%.1f,", sx(x)) + fmt("%.1f ", sy(y));
    }
    if (!pts.empty())
      svg += "<polyline fill=\"none\" stroke=\"" + std::string(color) + "\" stroke-width=\"2\" points=\"" + pts + "\"/>\n";
    const double ly = top + 16 + 16 * static_cast<double>(k);
    svg += "<rect x=\"" + fmt("%.1f", left + 12) + "\" y=\"" + fmt("%.1f", ly - 9) + "\" width=\"12\" height=\"12\" fill=\"" +
           color + "\"/><text x=\"" + fmt("%.1f", left + 30) + "\" y=\"" + fmt("%.1f", ly + 2) + "\">" + escape(s.name) + "</text>\n";
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace rhotrain
