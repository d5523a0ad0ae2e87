#include "metrics/eval_record.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/files.h"
#include "common/text.h"

namespace rhotrain {
namespace {

using nlohmann::json;

// A statistic that is not available (an empty decile) is NaN in memory and null in JSON.
json number(double x) { return std::isnan(x) ? json(nullptr) : json(x); }
double number(const json& j) { return j.is_null() ? std::numeric_limits<double>::quiet_NaN() : j.get<double>(); }

json interval(const Interval& i) {
  if (!available(i)) return nullptr;
  return {{"value", i.value}, {"ci95", {i.lo, i.hi}}};
}
Interval interval(const json& j) {
  if (j.is_null()) return not_available();
  return {j.at("value"), j.at("ci95").at(0), j.at("ci95").at(1)};
}

json material_rows(const std::vector<MaterialScore>& rows) {
  json out = json::array();
  for (const auto& m : rows)
    out.push_back({{"id", m.id}, {"n_atoms", m.n_atoms}, {"n_e", m.n_e}, {"grid", m.grid}, {"sum_abs_err", m.sum_abs_err},
                   {"sum_abs_true", m.sum_abs_true}, {"nmae", m.nmae}, {"floor_nmae", m.floor_nmae},
                   {"uniform_baseline_nmae", m.uniform_nmae}, {"atomic_baseline_nmae", number(m.atomic_nmae)},
                   {"seam_ratio", number(m.seam_ratio)}});
  return out;
}

std::vector<MaterialScore> material_rows(const json& rows) {
  std::vector<MaterialScore> out;
  for (const auto& m : rows) {
    MaterialScore s;
    s.id = m.at("id");
    s.n_atoms = m.at("n_atoms");
    s.n_e = m.at("n_e");
    s.grid = m.at("grid");
    s.sum_abs_err = m.at("sum_abs_err");
    s.sum_abs_true = m.at("sum_abs_true");
    s.nmae = m.at("nmae");
    s.floor_nmae = m.at("floor_nmae");
    // Records written before there were two baselines call the uniform one "baseline" and have no atomic one.
    s.uniform_nmae = m.contains("uniform_baseline_nmae") ? m.at("uniform_baseline_nmae") : m.at("baseline_nmae");
    s.atomic_nmae = m.contains("atomic_baseline_nmae") ? number(m.at("atomic_baseline_nmae")) : std::numeric_limits<double>::quiet_NaN();
    s.seam_ratio = m.contains("seam_ratio") ? number(m.at("seam_ratio")) : std::numeric_limits<double>::quiet_NaN();
    out.push_back(s);
  }
  return out;
}

}  // namespace

std::string material_rows_json(const std::vector<MaterialScore>& rows) { return material_rows(rows).dump(); }

std::vector<MaterialScore> material_rows_from_json(const std::string& text) { return material_rows(json::parse(text)); }

std::string eval_record_json(const EvalRecord& r) {
  const Aggregates& a = r.aggregates;
  json deciles = json::array();
  for (const auto& d : a.deciles)
    deciles.push_back({{"n_e_min", number(d.n_e_min)}, {"n_e_max", number(d.n_e_max)}, {"count", d.count},
                       {"per_mat_mean", interval(d.per_mat_mean)}, {"atomic_baseline_per_mat_mean", number(d.atomic_per_mat_mean)}});
  const json j = {{"set", r.set},
                  {"step", r.step},
                  {"mode", r.mode},
                  {"decode", r.decode},
                  {"stride", r.stride},
                  {"seconds", r.seconds},
                  {"aggregates",
                   {{"per_mat_mean", interval(a.per_mat_mean)},
                    {"per_electron", interval(a.per_electron)},
                    {"median", a.median},
                    {"p99", a.p99},
                    {"seam_ratio", number(a.seam_ratio)},
                    {"deciles", deciles},
                    {"floor", {{"per_mat_mean", a.floor_per_mat_mean}, {"per_electron", a.floor_per_electron}}},
                    {"uniform_baseline", {{"per_mat_mean", a.uniform_per_mat_mean}, {"per_electron", a.uniform_per_electron}}},
                    {"atomic_baseline", {{"per_mat_mean", number(a.atomic_per_mat_mean)}, {"per_electron", number(a.atomic_per_electron)},
                                         {"median", number(a.atomic_median)}, {"p99", number(a.atomic_p99)}}}}},
                  {"materials", material_rows(r.materials)}};
  return j.dump(1) + "\n";
}

EvalRecord read_eval_record(const std::string& path) {
  EvalRecord r;
  try {
    const json j = json::parse(read_text_file(path));
    r.set = j.at("set");
    r.step = j.at("step");
    r.mode = j.at("mode");
    r.decode = j.at("decode");
    r.stride = j.value("stride", 0);
    r.seconds = j.value("seconds", 0.0);
    r.materials = material_rows(j.at("materials"));
    const json& a = j.at("aggregates");
    r.aggregates.per_mat_mean = interval(a.at("per_mat_mean"));
    r.aggregates.per_electron = interval(a.at("per_electron"));
    r.aggregates.median = a.at("median");
    r.aggregates.p99 = a.at("p99");
    r.aggregates.seam_ratio = a.contains("seam_ratio") ? number(a.at("seam_ratio")) : std::numeric_limits<double>::quiet_NaN();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (const auto& d : a.at("deciles"))
      r.aggregates.deciles.push_back({number(d.at("n_e_min")), number(d.at("n_e_max")), d.at("count"), interval(d.at("per_mat_mean")),
                                      d.contains("atomic_baseline_per_mat_mean") ? number(d.at("atomic_baseline_per_mat_mean")) : nan});
    r.aggregates.floor_per_mat_mean = a.at("floor").at("per_mat_mean");
    r.aggregates.floor_per_electron = a.at("floor").at("per_electron");
    const json& uniform = a.contains("uniform_baseline") ? a.at("uniform_baseline") : a.at("baseline");
    r.aggregates.uniform_per_mat_mean = uniform.at("per_mat_mean");
    r.aggregates.uniform_per_electron = uniform.at("per_electron");
    const json atomic = a.value("atomic_baseline", json::object());
    r.aggregates.atomic_per_mat_mean = atomic.contains("per_mat_mean") ? number(atomic.at("per_mat_mean")) : nan;
    r.aggregates.atomic_per_electron = atomic.contains("per_electron") ? number(atomic.at("per_electron")) : nan;
    r.aggregates.atomic_median = atomic.contains("median") ? number(atomic.at("median")) : nan;
    r.aggregates.atomic_p99 = atomic.contains("p99") ? number(atomic.at("p99")) : nan;
  } catch (const json::exception& e) {
    throw Error(path + ": not an evaluation record (" + e.what() + ")");
  }
  return r;
}

std::string percent_text(double fraction, int digits) {
  if (std::isnan(fraction)) return "n/a";
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", digits, 100 * fraction);
  return b;
}

std::string ratio_text(double value, double reference) {
  if (std::isnan(reference) || std::isnan(value) || reference == 0) return "n/a";
  char b[32];
  std::snprintf(b, sizeof b, "%.2f×", value / reference);
  return b;
}

void print_eval_table(std::ostream& os, const EvalRecord& r) {
  const Aggregates& a = r.aggregates;
  char line[256];
  const std::string stitching = r.stride > 0 ? ", patches every " + std::to_string(r.stride) + " voxels averaged" : "";
  std::snprintf(line, sizeof line, "eval %s step %lld (%s, decode %s%s, %s, %.1f s): NMAE %%\n", r.set.c_str(),
                static_cast<long long>(r.step), r.mode.c_str(), r.decode.c_str(), stitching.c_str(),
                count_of(r.materials.size(), "material").c_str(), r.seconds);
  os << line;
  std::snprintf(line, sizeof line, "  %-22s %8s  %-19s %8s %8s %8s\n", "", "model", "95% CI", "floor", "atomic", "uniform");
  os << line;
  std::snprintf(line, sizeof line, "  %-22s %8.3f  [%7.3f, %7.3f] %8.3f %8s %8.3f\n", "per-material mean", 100 * a.per_mat_mean.value,
                100 * a.per_mat_mean.lo, 100 * a.per_mat_mean.hi, 100 * a.floor_per_mat_mean, percent_text(a.atomic_per_mat_mean).c_str(),
                100 * a.uniform_per_mat_mean);
  os << line;
  std::snprintf(line, sizeof line, "  %-22s %8.3f  [%7.3f, %7.3f] %8.3f %8s %8.3f\n", "per-electron", 100 * a.per_electron.value,
                100 * a.per_electron.lo, 100 * a.per_electron.hi, 100 * a.floor_per_electron, percent_text(a.atomic_per_electron).c_str(),
                100 * a.uniform_per_electron);
  os << line;
  std::snprintf(line, sizeof line, "  median %.3f, p99 %.3f (atomic baseline %s, %s); by n_e decile, model / atomic baseline:", 100 * a.median,
                100 * a.p99, percent_text(a.atomic_median).c_str(), percent_text(a.atomic_p99).c_str());
  os << line;
  for (const auto& d : a.deciles) {
    if (available(d.per_mat_mean))
      std::snprintf(line, sizeof line, " %.2f/%s", 100 * d.per_mat_mean.value, percent_text(d.atomic_per_mat_mean, 2).c_str());
    else std::snprintf(line, sizeof line, " n/a");
    os << line;
  }
  os << "\n";
  if (!std::isnan(a.atomic_per_mat_mean))
    os << "  model / atomic baseline (per-material mean): " << ratio_text(a.per_mat_mean.value, a.atomic_per_mat_mean) << "\n";
  if (!std::isnan(a.seam_ratio)) {
    std::snprintf(line, sizeof line, "  seam ratio %.3f (steps across patch boundaries vs within, relative to the true density's; 1 = seamless)\n",
                  a.seam_ratio);
    os << line;
  }
}

}  // namespace rhotrain
