#include "pictures/density_figure.h"

#include <cairo.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/elements.h"
#include "common/error.h"
#include "common/files.h"

namespace rhotrain {
namespace {

// Layout in pixels. Nothing here depends on the density values, so figures of one plane line up panel for panel.
constexpr double kLongSide = 330;  // the longer side of a panel's picture
constexpr double kMaxAspect = 2;   // a narrower plane cell is shown with more of its periodic neighbours
constexpr double kPad = 0.05;      // room around the cell, as a fraction of the longer side
constexpr int kMargin = 16, kHeader = 52, kPanelTitle = 22, kFooter = 26, kPanelGap = 24;
constexpr int kBarGap = 10, kBarWidth = 14, kBarLabels = 60;
constexpr double kDecades = 4;  // the ρ colour scale spans this many decades below the largest value
constexpr double kAtomRadius = 3.5;
constexpr double kPi = 3.14159265358979323846;

struct Rgb {
  double r, g, b;
};

Rgb mix(const Rgb& a, const Rgb& b, double t) {
  return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

double clamp01(double t) { return t > 0 ? std::min(t, 1.0) : 0; }  // NaN goes to 0

// matplotlib's viridis at 0, 0.1, …, 1 (0–255): brightness grows steadily, so the picture reads in grey too.
constexpr std::array<std::array<int, 3>, 11> kViridis = {{{68, 1, 84},
                                                          {72, 36, 117},
                                                          {65, 68, 135},
                                                          {53, 95, 141},
                                                          {42, 120, 142},
                                                          {33, 145, 140},
                                                          {34, 168, 132},
                                                          {68, 191, 112},
                                                          {122, 209, 81},
                                                          {189, 223, 38},
                                                          {253, 231, 37}}};

Rgb viridis(double t) {
  const double x = clamp01(t) * (kViridis.size() - 1);
  const size_t i = std::min(static_cast<size_t>(x), kViridis.size() - 2);
  const auto rgb = [](const std::array<int, 3>& c) { return Rgb{c[0] / 255.0, c[1] / 255.0, c[2] / 255.0}; };
  return mix(rgb(kViridis[i]), rgb(kViridis[i + 1]), x - static_cast<double>(i));
}

// t ∈ [−1, 1]: blue where the prediction is too low, white where it is right, red where it is too high.
Rgb diverging(double t) {
  const Rgb blue{0.23, 0.30, 0.75}, white{1, 1, 1}, red{0.71, 0.02, 0.15};
  if (!(t == t)) return white;
  return t < 0 ? mix(white, blue, std::min(-t, 1.0)) : mix(white, red, std::min(t, 1.0));
}

// How the picture sits on the plane: pixel (i, j) shows the point x = x_lo + (i + ½)/scale, y = y_hi − (j + ½)/scale
// (Å, x along u, y towards v), which is the fractional point origin + x·fx + y·fy.
struct Frame {
  Eigen::Vector3d origin, fx, fy;  // fractional
  Eigen::Vector3d ex, ey;          // Cartesian unit vectors along x and y
  Eigen::Vector2d u, v;            // the cell's edges in the picture, Å
  double x_lo = 0, y_hi = 0, scale = 1;
  int width = 0, height = 0;

  Eigen::Vector3d fractional(double x, double y) const { return origin + x * fx + y * fy; }
  double px(double x) const { return (x - x_lo) * scale; }
  double py(double y) const { return (y_hi - y) * scale; }
};

Frame frame_of(const MaterialMeta& s, const SlicePlane& p, const std::string& png_path) {
  const Eigen::Matrix3d to_cartesian = s.lattice.transpose();
  if (!(std::fabs(to_cartesian.determinant()) > 1e-9)) throw Error(png_path + ": the lattice spans no volume");
  const Eigen::Vector3d u = to_cartesian * p.u.cast<double>(), v = to_cartesian * p.v.cast<double>();
  const Eigen::Vector3d normal = u.cross(v);
  if (!(normal.norm() > 1e-9)) throw Error(png_path + ": the plane's u and v span no cell");
  Frame f;
  f.origin = p.origin;
  f.ex = u.normalized();
  f.ey = normal.normalized().cross(f.ex);  // v then always points up
  const Eigen::Matrix3d to_fractional = to_cartesian.inverse();
  f.fx = to_fractional * f.ex;
  f.fy = to_fractional * f.ey;
  f.u = {u.norm(), 0};
  f.v = {v.dot(f.ex), v.dot(f.ey)};
  double x_lo = std::min(0.0, f.v.x()), x_hi = std::max(f.u.x(), f.u.x() + f.v.x()), y_lo = 0, y_hi = f.v.y();
  const double pad = kPad * std::max(x_hi - x_lo, y_hi - y_lo);
  x_lo -= pad, x_hi += pad, y_lo -= pad, y_hi += pad;
  const double w = x_hi - x_lo, h = y_hi - y_lo, grow_x = std::max(0.0, h / kMaxAspect - w) / 2,
               grow_y = std::max(0.0, w / kMaxAspect - h) / 2;
  x_lo -= grow_x, x_hi += grow_x, y_lo -= grow_y, y_hi += grow_y;
  f.x_lo = x_lo;
  f.y_hi = y_hi;
  f.scale = kLongSide / std::max(x_hi - x_lo, y_hi - y_lo);
  f.width = static_cast<int>(std::ceil((x_hi - x_lo) * f.scale - 1e-6));
  f.height = static_cast<int>(std::ceil((y_hi - y_lo) * f.scale - 1e-6));
  return f;
}

// Trilinear interpolation on the periodic grid; voxel (i, j, k) sits at (i/nx, j/ny, k/nz).
double sample(const Grid& grid, const std::vector<float>& rho, const Eigen::Vector3d& f) {
  std::array<long, 3> lo{}, hi{};
  std::array<double, 3> t{};
  for (int a = 0; a < 3; ++a) {
    const double x = f[a] * grid[a], floor = std::floor(x);
    t[a] = x - floor;
    lo[a] = ((static_cast<long>(floor) % grid[a]) + grid[a]) % grid[a];
    hi[a] = (lo[a] + 1) % grid[a];
  }
  const auto at = [&](long i, long j, long k) { return static_cast<double>(rho[(i * grid[1] + j) * grid[2] + k]); };
  const auto along_z = [&](long i, long j) { return at(i, j, lo[2]) * (1 - t[2]) + at(i, j, hi[2]) * t[2]; };
  const auto along_y = [&](long i) { return along_z(i, lo[1]) * (1 - t[1]) + along_z(i, hi[1]) * t[1]; };
  return along_y(lo[0]) * (1 - t[0]) + along_y(hi[0]) * t[0];
}

std::vector<double> sample_plane(const Frame& f, const Grid& grid, const std::vector<float>& rho) {
  std::vector<double> out(static_cast<size_t>(f.width) * f.height);
  for (int j = 0; j < f.height; ++j)
    for (int i = 0; i < f.width; ++i)
      out[static_cast<size_t>(j) * f.width + i] =
          sample(grid, rho, f.fractional(f.x_lo + (i + 0.5) / f.scale, f.y_hi - (j + 0.5) / f.scale));
  return out;
}

enum class Scale { log_density, difference };

struct Panel {
  std::string title;
  std::vector<double> values;
  Scale scale;
};

// What a value looks like: the log scale runs from `top` − kDecades to `top` (log₁₀), the diverging one over ±limit.
struct ColourScale {
  double top = 0, limit = 1;

  Rgb colour(Scale s, double value) const {
    if (s == Scale::difference) return diverging(value / limit);
    return viridis(value > 0 ? (std::log10(value) - top + kDecades) / kDecades : 0);
  }
};

// The difference saturates at the 99th percentile of |error| over the pixels: the few pixels at a nucleus, where the
// density is steepest, would otherwise set a scale on which every other error is white.
ColourScale colour_scale(const std::vector<Panel>& panels) {
  double largest = 0;
  std::vector<double> errors;
  for (const Panel& p : panels)
    for (double v : p.values) {
      if (!std::isfinite(v)) continue;
      if (p.scale == Scale::log_density) largest = std::max(largest, v);
      else errors.push_back(std::fabs(v));
    }
  ColourScale c;
  c.top = largest > 0 ? std::log10(largest) : 0;
  if (!errors.empty()) {
    const auto p99 = errors.begin() + static_cast<std::ptrdiff_t>(0.99 * static_cast<double>(errors.size() - 1));
    std::nth_element(errors.begin(), p99, errors.end());
    c.limit = *p99;
  }
  if (!(c.limit > 0)) c.limit = 1e-12;
  return c;
}

using SurfacePtr = std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)>;
using ContextPtr = std::unique_ptr<cairo_t, decltype(&cairo_destroy)>;

void set_font(cairo_t* cr, double size, bool bold = false) {
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

double text_width(cairo_t* cr, const std::string& text) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, text.c_str(), &e);
  return e.x_advance;
}

void show_text(cairo_t* cr, double x, double y, const std::string& text) {
  cairo_move_to(cr, x, y);
  cairo_show_text(cr, text.c_str());
}

// Black on a white halo, so marks stay readable over the darkest and the brightest colours alike.
void stroke_with_halo(cairo_t* cr) {
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_set_line_width(cr, 3);
  cairo_stroke_preserve(cr);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_line_width(cr, 1.2);
  cairo_stroke(cr);
}

void text_with_halo(cairo_t* cr, double x, double y, const std::string& text) {
  cairo_move_to(cr, x, y);
  cairo_text_path(cr, text.c_str());
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_set_line_width(cr, 2.5);
  cairo_stroke_preserve(cr);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_fill(cr);
}

uint32_t pixel(const Rgb& c) {
  const auto byte = [](double x) { return static_cast<uint32_t>(std::lround(clamp01(x) * 255)); };
  return byte(c.r) << 16 | byte(c.g) << 8 | byte(c.b);
}

void draw_picture(cairo_t* cr, const Frame& f, const Panel& p, const ColourScale& scale, int x0, int y0) {
  SurfacePtr image(cairo_image_surface_create(CAIRO_FORMAT_RGB24, f.width, f.height), cairo_surface_destroy);
  if (cairo_surface_status(image.get()) == CAIRO_STATUS_SUCCESS) {
    cairo_surface_flush(image.get());
    unsigned char* data = cairo_image_surface_get_data(image.get());
    const int stride = cairo_image_surface_get_stride(image.get());
    for (int j = 0; j < f.height; ++j) {
      auto* row = reinterpret_cast<uint32_t*>(data + static_cast<size_t>(j) * stride);
      for (int i = 0; i < f.width; ++i)
        row[i] = pixel(scale.colour(p.scale, p.values[static_cast<size_t>(j) * f.width + i]));
    }
    cairo_surface_mark_dirty(image.get());
  }
  // An image cairo could not make puts the figure's context in its error state, which the caller checks.
  cairo_set_source_surface(cr, image.get(), x0, y0);
  cairo_rectangle(cr, x0, y0, f.width, f.height);
  cairo_fill(cr);
}

// The plane's cell and every image of the plane's atoms that falls in the picture, clipped to it.
void draw_cell_and_atoms(cairo_t* cr, const MaterialMeta& s, const SlicePlane& plane, const Frame& f, int x0, int y0) {
  cairo_save(cr);
  cairo_rectangle(cr, x0, y0, f.width, f.height);
  cairo_clip(cr);
  const auto to_px = [&](const Eigen::Vector2d& q) { return Eigen::Vector2d(x0 + f.px(q.x()), y0 + f.py(q.y())); };
  const Eigen::Vector2d corners[] = {{0, 0}, f.u, f.u + f.v, f.v};
  for (const auto& c : corners) cairo_line_to(cr, to_px(c).x(), to_px(c).y());
  cairo_close_path(cr);
  stroke_with_halo(cr);

  const Eigen::Matrix3d to_cartesian = s.lattice.transpose();
  const Eigen::Vector3d h = plane.miller.cast<double>();
  const double x_hi = f.x_lo + f.width / f.scale, y_lo = f.y_hi - f.height / f.scale;
  const Eigen::Vector3d box[] = {f.fractional(f.x_lo, y_lo), f.fractional(x_hi, y_lo), f.fractional(f.x_lo, f.y_hi),
                                 f.fractional(x_hi, f.y_hi)};
  set_font(cr, 10);
  for (int atom : plane.atoms) {
    // Lattice translations n that bring the atom near the picture; of those, the ones keeping it on this plane
    // rather than a parallel one (h·n changes the plane by whole spacings).
    const Eigen::Vector3d at = s.frac_coords[atom];
    Eigen::Vector3i n_lo, n_hi;
    for (int a = 0; a < 3; ++a) {
      double lo = box[0][a], hi = box[0][a];
      for (const auto& b : box) lo = std::min(lo, b[a]), hi = std::max(hi, b[a]);
      n_lo[a] = static_cast<int>(std::floor(lo - at[a])) - 1;
      n_hi[a] = static_cast<int>(std::ceil(hi - at[a])) + 1;
    }
    const std::string& symbol = element_symbol(s.numbers[atom]);
    for (int i = n_lo[0]; i <= n_hi[0]; ++i)
      for (int j = n_lo[1]; j <= n_hi[1]; ++j)
        for (int k = n_lo[2]; k <= n_hi[2]; ++k) {
          const Eigen::Vector3d d = at + Eigen::Vector3d(i, j, k) - f.origin;
          if (std::lround(h.dot(d)) != 0) continue;
          const Eigen::Vector3d r = to_cartesian * d;
          const double x = r.dot(f.ex), y = r.dot(f.ey);
          if (x < f.x_lo - 1e-9 || x > x_hi + 1e-9 || y < y_lo - 1e-9 || y > f.y_hi + 1e-9) continue;
          const Eigen::Vector2d q = to_px({x, y});
          cairo_new_sub_path(cr);
          cairo_arc(cr, q.x(), q.y(), kAtomRadius, 0, 2 * kPi);
          stroke_with_halo(cr);
          text_with_halo(cr, q.x() + kAtomRadius + 2, q.y() - kAtomRadius - 1, symbol);
        }
  }
  cairo_restore(cr);
}

// "10" with the exponent raised and smaller, as a log axis is usually labelled.
void power_of_ten_label(cairo_t* cr, double x, double y, int exponent) {
  set_font(cr, 10);
  show_text(cr, x, y, "10");
  const double w = text_width(cr, "10");
  set_font(cr, 7.5);
  show_text(cr, x + w + 1, y - 5, (exponent < 0 ? "\u2212" : "") + std::to_string(std::abs(exponent)));
}

void draw_colour_bar(cairo_t* cr, const Panel& p, const ColourScale& scale, int x0, int y0, int height) {
  // Row r shows the value a fraction (r + ½)/height down from the top of the scale.
  const double lo = p.scale == Scale::difference ? -scale.limit : scale.top - kDecades;
  const double hi = p.scale == Scale::difference ? scale.limit : scale.top;
  for (int r = 0; r < height; ++r) {
    const double at = hi - (hi - lo) * (r + 0.5) / height;
    const Rgb c = scale.colour(p.scale, p.scale == Scale::difference ? at : std::pow(10.0, at));
    cairo_set_source_rgb(cr, c.r, c.g, c.b);
    cairo_rectangle(cr, x0, y0 + r, kBarWidth, 1);
    cairo_fill(cr);
  }
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, x0 + 0.5, y0 + 0.5, kBarWidth - 1, height - 1);
  cairo_stroke(cr);

  std::vector<double> ticks;
  if (p.scale == Scale::difference) {
    for (double k : {-1.0, -0.5, 0.0, 0.5, 1.0}) ticks.push_back(k * scale.limit);
  } else {
    for (double d = std::ceil(lo - 1e-9); d <= hi + 1e-9; d += 1) ticks.push_back(d);
  }
  for (double t : ticks) {
    const double y = y0 + (hi - t) / (hi - lo) * height;
    cairo_move_to(cr, x0 + kBarWidth, y);
    cairo_line_to(cr, x0 + kBarWidth + 3, y);
    cairo_stroke(cr);
    const double label_x = x0 + kBarWidth + 5, label_y = y + 3.5;
    if (p.scale == Scale::difference) {
      char b[32];
      std::snprintf(b, sizeof b, "%.2g", t == 0 ? 0.0 : t);
      set_font(cr, 10);
      show_text(cr, label_x, label_y, b);
    } else {
      power_of_ten_label(cr, label_x, label_y, static_cast<int>(std::lround(t)));
    }
  }
  set_font(cr, 10);
  const std::string unit = "e/Å³";
  show_text(cr, x0 + kBarWidth / 2.0 - text_width(cr, unit) / 2, y0 + height + 16, unit);
}

void check_grid(const MaterialMeta& s, const std::vector<float>& values, const char* what,
                const std::string& png_path) {
  if (values.empty() || values.size() == voxel_count(s.grid)) return;
  throw Error(png_path + ": " + what + " has " + std::to_string(values.size()) + " values but the grid " +
              std::to_string(s.grid[0]) + "x" + std::to_string(s.grid[1]) + "x" + std::to_string(s.grid[2]) + " has " +
              std::to_string(voxel_count(s.grid)));
}

void check_plane(const MaterialMeta& s, const SlicePlane& plane, const std::string& png_path) {
  if (s.frac_coords.size() != s.n_atoms()) throw Error(png_path + ": atoms and positions differ in number");
  for (int atom : plane.atoms)
    if (atom < 0 || static_cast<size_t>(atom) >= s.n_atoms())
      throw Error(png_path + ": the plane names atom " + std::to_string(atom) + " of " + std::to_string(s.n_atoms()));
}

// Written under a temporary name and renamed, so a failure part-way leaves no half-written PNG behind.
void write_png(cairo_surface_t* surface, const std::string& png_path) {
  const std::filesystem::path parent = std::filesystem::path(png_path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) throw Error(png_path + ": cannot write PNG: cannot create its folder (" + ec.message() + ")");
  }
  PendingFile pending(png_path);
  const cairo_status_t status = cairo_surface_write_to_png(surface, pending.temp_path().c_str());
  if (status != CAIRO_STATUS_SUCCESS) throw Error(png_path + ": cannot write PNG: " + cairo_status_to_string(status));
  pending.commit();
}

}  // namespace

void write_density_figure(const MaterialMeta& structure, const SlicePlane& plane, const DensityFigure& figure,
                          const std::string& png_path) {
  check_grid(structure, figure.truth, "the DFT density", png_path);
  check_grid(structure, figure.predicted, "the predicted density", png_path);
  if (figure.truth.empty() && figure.predicted.empty())
    throw Error(png_path + ": no density to draw (both the DFT and the predicted one are empty)");
  check_plane(structure, plane, png_path);
  const Frame f = frame_of(structure, plane, png_path);

  std::vector<Panel> panels;
  if (!figure.truth.empty())
    panels.push_back({"DFT", sample_plane(f, structure.grid, figure.truth), Scale::log_density});
  if (!figure.predicted.empty())
    panels.push_back({"predicted", sample_plane(f, structure.grid, figure.predicted), Scale::log_density});
  if (panels.size() == 2) {
    std::vector<double> error(panels[1].values.size());
    for (size_t i = 0; i < error.size(); ++i) error[i] = panels[1].values[i] - panels[0].values[i];
    panels.push_back({"predicted \u2212 DFT (saturates at p99)", std::move(error), Scale::difference});
  }
  const ColourScale scale = colour_scale(panels);

  const std::string subtitle = describe_plane(structure, plane);
  const int block = f.width + kBarGap + kBarWidth + kBarLabels;
  const int n = static_cast<int>(panels.size());
  int width = 2 * kMargin + n * block + (n - 1) * kPanelGap;
  {
    // The canvas widens for a title longer than the panels; measured on a scratch surface with the same fonts.
    SurfacePtr scratch(cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1), cairo_surface_destroy);
    ContextPtr m(cairo_create(scratch.get()), cairo_destroy);
    set_font(m.get(), 15, true);
    const double title = text_width(m.get(), figure.title);
    set_font(m.get(), 12);
    const double sub = text_width(m.get(), subtitle);
    width = std::max(width, 2 * kMargin + static_cast<int>(std::ceil(std::max(title, sub))));
  }
  const int height = kMargin + kHeader + kPanelTitle + f.height + kFooter + kMargin;

  SurfacePtr surface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height), cairo_surface_destroy);
  ContextPtr cr(cairo_create(surface.get()), cairo_destroy);
  cairo_set_source_rgb(cr.get(), 1, 1, 1);
  cairo_paint(cr.get());
  cairo_set_source_rgb(cr.get(), 0, 0, 0);
  set_font(cr.get(), 15, true);
  show_text(cr.get(), kMargin, kMargin + 15, figure.title);
  cairo_set_source_rgb(cr.get(), 0.3, 0.3, 0.3);
  set_font(cr.get(), 12);
  show_text(cr.get(), kMargin, kMargin + 36, subtitle);

  const int top = kMargin + kHeader + kPanelTitle;
  for (int k = 0; k < n; ++k) {
    const int x0 = kMargin + k * (block + kPanelGap);
    cairo_set_source_rgb(cr.get(), 0, 0, 0);
    set_font(cr.get(), 13, true);
    show_text(cr.get(), x0, top - 7, panels[k].title);
    draw_picture(cr.get(), f, panels[k], scale, x0, top);
    draw_cell_and_atoms(cr.get(), structure, plane, f, x0, top);
    cairo_set_source_rgb(cr.get(), 0, 0, 0);
    draw_colour_bar(cr.get(), panels[k], scale, x0 + f.width + kBarGap, top, f.height);
  }
  cairo_surface_flush(surface.get());
  if (cairo_status(cr.get()) != CAIRO_STATUS_SUCCESS)
    throw Error(png_path + ": cannot write PNG: " + cairo_status_to_string(cairo_status(cr.get())));
  write_png(surface.get(), png_path);
}

}  // namespace rhotrain
