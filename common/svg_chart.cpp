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

// A round step (1, 2 or 5 × 10^k) that cuts `range` into about `parts` intervals.
double round_step(double range, double parts) {
  const double raw = range / parts, magnitude = std::pow(10.0, std::floor(std::log10(raw))), m = raw / magnitude;
  return (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10) * magnitude;
}

// Multiples of `step` from lo to hi, and the label of each with as many decimals as the step needs.
std::vector<std::pair<double, std::string>> linear_ticks(double lo, double hi, double step) {
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  std::vector<std::pair<double, std::string>> ticks;
  for (double i = std::ceil(lo / step - 1e-9); i * step <= hi + 1e-9 * step; i += 1) {
    char b[32];
    std::snprintf(b, sizeof b, "%.*f", decimals, i * step + 0.0);
    ticks.emplace_back(i * step, b);
  }
  return ticks;
}

// log10 of the nearest 1, 2 or 5 × 10^k at or below (up = false) or at or above (up = true) 10^e: where a log axis ends,
// so that it spans the data rather than whole decades around it.
double round_log_end(double e, bool up) {
  const double decade = std::floor(e + 1e-9);
  const double mantissas[] = {1, 2, 5, 10};
  if (up) {
    for (double m : mantissas)
      if (decade + std::log10(m) >= e - 1e-9) return decade + std::log10(m);
  }
  double end = decade;
  for (double m : mantissas)
    if (decade + std::log10(m) <= e + 1e-9) end = decade + std::log10(m);
  return end;
}

// Ticks of a log axis: its two ends, and the decades between them (also 2 and 5 of each when it spans two decades or
// less), labelled 10, 100, 1000.
std::vector<std::pair<double, std::string>> log_ticks(double lo_decade, double hi_decade) {
  const bool narrow = hi_decade - lo_decade <= 2;
  std::vector<std::pair<double, std::string>> ticks;
  for (double d = std::floor(lo_decade); d <= std::ceil(hi_decade); d += 1)
    for (double m : {1.0, 2.0, 5.0}) {
      const double e = d + std::log10(m), v = m * std::pow(10.0, d);
      const bool end = std::fabs(e - lo_decade) < 1e-9 || std::fabs(e - hi_decade) < 1e-9;
      if (e < lo_decade - 1e-9 || e > hi_decade + 1e-9 || !(m == 1 || narrow || end)) continue;
      char b[32];
      std::snprintf(b, sizeof b, v >= 1 ? "%.0f" : "%g", v);
      ticks.emplace_back(v, b);
    }
  return ticks;
}

}  // namespace

std::string SvgChart::render(int width, int height) const {
  const double left = 84, right = 20, top = 40, bottom = 55;
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = 0, y1 = -x0;
  for (const auto& s : series) {
    for (const auto& [x, y] : s.points) {
      if (log_x && !(x > 0)) continue;
      const double xv = log_x ? std::log10(x) : x;
      x0 = std::min(x0, xv), x1 = std::max(x1, xv), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
    for (const auto& [lo, hi] : s.bars) y0 = std::min(y0, lo), y1 = std::max(y1, hi);
  }
  if (!(x1 > x0)) x0 -= 0.5, x1 += 0.5;
  if (!(y1 > y0)) y1 = y0 + 1;
  // Axes end on round values: the y axis on its step, a log x axis on whole decades, categories half a step out.
  const double y_step = round_step(y1 - y0, 5);
  y0 = std::floor(y0 / y_step) * y_step, y1 = std::ceil(y1 / y_step) * y_step;
  std::vector<std::pair<double, std::string>> xticks;
  if (log_x) {
    x0 = round_log_end(x0, false), x1 = round_log_end(x1, true);
    if (!(x1 > x0)) x1 = round_log_end(x0 + 0.1, true);
    xticks = log_ticks(x0, x1);
  } else if (integer_x) {
    x0 = std::round(x0) - 0.5, x1 = std::round(x1) + 0.5;
    xticks = linear_ticks(x0, x1, std::max(1.0, round_step(x1 - x0, 12)));
  } else {
    const double step = round_step(x1 - x0, 6);
    x0 = std::floor(x0 / step) * step, x1 = std::ceil(x1 / step) * step;
    xticks = linear_ticks(x0, x1, step);
  }
  const double pw = width - left - right, ph = height - top - bottom;
  auto sx = [&](double x) { return left + ((log_x ? std::log10(x) : x) - x0) / (x1 - x0) * pw; };
  auto sy = [&](double y) { return top + ph - (y - y0) / (y1 - y0) * ph; };

  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) + "\" height=\"" +
                    std::to_string(height) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + fmt("%.0f", width / 2.0) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">" + escape(title) + "</text>\n";
  svg += "<rect x=\"" + fmt("%.1f", left) + "\" y=\"" + fmt("%.1f", top) + "\" width=\"" + fmt("%.1f", pw) +
         "\" height=\"" + fmt("%.1f", ph) + "\" fill=\"none\" stroke=\"#444\"/>\n";
  for (const auto& [t, label] : xticks)
    svg += "<line x1=\"" + fmt("%.1f", sx(t)) + "\" x2=\"" + fmt("%.1f", sx(t)) + "\" y1=\"" + fmt("%.1f", top + ph) +
           "\" y2=\"" + fmt("%.1f", top + ph + 5) + "\" stroke=\"#444\"/><text x=\"" + fmt("%.1f", sx(t)) + "\" y=\"" +
           fmt("%.1f", top + ph + 18) + "\" text-anchor=\"middle\">" + label + "</text>\n";
  for (const auto& [t, label] : linear_ticks(y0, y1, y_step))
    svg += "<line x1=\"" + fmt("%.1f", left - 5) + "\" x2=\"" + fmt("%.1f", left) + "\" y1=\"" + fmt("%.1f", sy(t)) +
           "\" y2=\"" + fmt("%.1f", sy(t)) + "\" stroke=\"#444\"/><text x=\"" + fmt("%.1f", left - 8) + "\" y=\"" +
           fmt("%.1f", sy(t) + 4) + "\" text-anchor=\"end\">" + label + "</text>\n";
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
    for (size_t i = 0; i < s.bars.size() && i < s.points.size(); ++i) {
      const double x = sx(s.points[i].first), lo = sy(s.bars[i].first), hi = sy(s.bars[i].second);
      svg += "<path d=\"M" + fmt("%.1f", x) + "," + fmt("%.1f", lo) + "V" + fmt("%.1f", hi) + "M" + fmt("%.1f", x - 4) + "," +
             fmt("%.1f", lo) + "h8M" + fmt("%.1f", x - 4) + "," + fmt("%.1f", hi) + "h8\" stroke=\"" + color + "\" stroke-width=\"1.5\"/>\n";
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
