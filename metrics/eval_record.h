// One evaluation of one checkpoint on one set, as written to runs/<name>/eval/<set>/step-N.json and read
// back by `rhotrain compare`: the aggregates and a row per material (NMAE kept as fractions).
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "metrics/nmae.h"

namespace rhotrain {

struct EvalRecord {
  std::string set, mode, decode;
  int stride = 0;  // 0: one tile per voxel; else overlapping patches every `stride` voxels, averaged
  int64_t step = 0;
  double seconds = 0;
  std::vector<MaterialScore> materials;
  Aggregates aggregates;
};

std::string eval_record_json(const EvalRecord& r);
// The per-material rows alone, as exact JSON (doubles round-trip): how ranks share an evaluation's rows.
std::string material_rows_json(const std::vector<MaterialScore>& rows);
std::vector<MaterialScore> material_rows_from_json(const std::string& text);
EvalRecord read_eval_record(const std::string& path);  // throws Error naming the file

// The short table printed on stderr after each evaluation (values in percent).
void print_eval_table(std::ostream& os, const EvalRecord& r);

// A fraction in percent with `digits` decimals ("3.535"), or "n/a" when it is not available (NaN).
std::string percent_text(double fraction, int digits = 3);
// value / reference as "0.52×", or "n/a" when the reference is not available (NaN).
std::string ratio_text(double value, double reference);

}  // namespace rhotrain
