#include "trainer/sampler_commands.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <thread>

#include "materials/error.h"
#include "materials/files.h"
#include "materials/quantiles.h"
#include "materials/store.h"
#include "sampler/lmq_codec.h"
#include "sampler/patch_stream.h"
#include "sampler/training_set.h"
#include "sampler/v3_tokenizer.h"
#include "trainer/cli.h"
#include "trainer/svg_chart.h"

namespace rhotrain {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string fmt_ratio(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", r);
  return buf;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::shared_ptr<MaterialStore> open_store(const cxxopts::ParseResult& r, size_t cache_bytes = 0) {
  return std::make_shared<MaterialStore>(expand_store_paths(required<std::vector<std::string>>(r, "store")), cache_bytes);
}

Grid parse_origin(const std::string& s) {
  Grid g{};
  if (std::sscanf(s.c_str(), "%d,%d,%d", &g[0], &g[1], &g[2]) != 3)
    throw Error("--origin must be I,J,K (three integers), not '" + s + "'");
  return g;
}

// Options shared by every command that builds a patch plan (tokenize bulk export, preview).
void add_plan_options(cxxopts::Options& o) {
  o.add_options()
      ("split", "split to draw patches from", cxxopts::value<std::string>()->default_value("train"))
      ("weighting", "uniform | electrons", cxxopts::value<std::string>()->default_value("uniform"))
      ("weighting-mode", "sampling | loss", cxxopts::value<std::string>()->default_value("sampling"))
      ("electrons-from", "sum_z | grid", cxxopts::value<std::string>()->default_value("sum_z"))
      ("patches-per-mat", "M̄, patches per material per epoch", cxxopts::value<double>()->default_value("64"))
      ("seed", "plan seed", cxxopts::value<uint64_t>()->default_value("0"));
}

PlanSpec plan_spec(const cxxopts::ParseResult& r) {
  PlanSpec s;
  s.weighting = r["weighting"].as<std::string>();
  s.mode = parse_weighting_mode(r["weighting-mode"].as<std::string>());
  s.electrons_from = parse_electrons_from(r["electrons-from"].as<std::string>());
  s.patches_per_mat = r["patches-per-mat"].as<double>();
  s.seed = r["seed"].as<uint64_t>();
  return s;
}

// NumPy .npy (format 1.0) of int32 [rows, cols], readable by numpy.load.
void write_npy(const std::string& path, const int32_t* data, size_t rows, size_t cols) {
  std::string header = "{'descr': '<i4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                       std::to_string(cols) + "), }";
  const size_t unpadded = 10 + header.size() + 1;
  header += std::string((64 - unpadded % 64) % 64, ' ') + "\n";
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  const uint16_t len = static_cast<uint16_t>(header.size());
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>(len >> 8);
  out += header;
  out.append(reinterpret_cast<const char*>(data), rows * cols * sizeof(int32_t));
  write_text_file_atomic(path, out);
}

int tokenize_one(const cxxopts::ParseResult& r, const V3Tokenizer& tok) {
  auto store = open_store(r);
  const std::string id = required<std::string>(r, "id");
  const MaterialMeta& m = store->meta(id);
  const std::string reason = tok.skip_reason(m);
  if (!reason.empty()) throw Error(id + ": cannot be tokenized: " + reason);
  const Grid origin = parse_origin(required<std::string>(r, "origin"));
  std::vector<float> patch(static_cast<size_t>(tok.patch_voxels()));
  store->read_patch(id, origin, tok.patch(), patch.data());
  std::vector<int32_t> tokens(static_cast<size_t>(tok.sequence_length(m.n_atoms()))), bins(patch.size());
  tok.encode(m, origin, patch.data(), tokens.data(), bins.data());
  nlohmann::json j;
  j["tokens"] = tokens;
  j["dens_start"] = v3::dens_start(m.n_atoms());
  j["n_atoms"] = m.n_atoms();
  std::cout << j.dump() << "\n";
  return 0;
}

int tokenize_bulk(const cxxopts::ParseResult& r, const V3Tokenizer& tok) {
  auto store = open_store(r, size_t{1} << 30);
  const std::string split = r["split"].as<std::string>();
  const TrainingSet set = load_training_set(store, split, tok, plan_spec(r));
  set.skipped.print(std::cerr, "tokenize (split " + split + ")");
  const size_t total = required<size_t>(r, "sequences");
  const size_t shard_rows = r["shard-rows"].as<size_t>();
  const int threads = std::max(1, r["threads"].as<int>());
  const std::string dir = required<std::string>(r, "out");
  if (total == 0 || shard_rows == 0) throw Error("--sequences and --shard-rows must be positive");

  // Write into DIR.tmp-PID and rename at the end: a failed export leaves no partial folder.
  PendingFile pending(dir);
  fs::create_directories(pending.temp_path());
  PatchStream stream(*set.plan);
  std::string index;
  const auto t0 = Clock::now();
  const int row_len = tok.max_len();
  for (size_t first = 0, shard = 0; first < total; first += shard_rows, ++shard) {
    const size_t rows = std::min(shard_rows, total - first);
    std::vector<PlanEntry> entries(rows);
    for (size_t i = 0; i < rows; ++i) entries[i] = stream.at(first + i);
    // Contiguous slices per thread: the shard's bytes do not depend on the thread count.
    std::vector<int32_t> buffer(rows * static_cast<size_t>(row_len));
    std::vector<std::thread> pool;
    std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        try {
          const size_t lo = rows * t / threads, hi = rows * (t + 1) / threads;
          std::vector<PlanEntry> part(entries.begin() + lo, entries.begin() + hi);
          const TokenRows tr = tokenize_entries(*set.source, tok, part, row_len);
          std::copy(tr.tokens.begin(), tr.tokens.end(), buffer.begin() + lo * row_len);
        } catch (...) {
          errors[static_cast<size_t>(t)] = std::current_exception();
        }
      });
    for (auto& th : pool) th.join();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
    char name[64];
    std::snprintf(name, sizeof name, "tokens-%05zu.npy", shard);
    write_npy(pending.temp_path() + "/" + name, buffer.data(), rows, static_cast<size_t>(row_len));
    for (size_t i = 0; i < rows; ++i) {
      const PlanEntry& e = entries[i];
      nlohmann::json j = {{"row", first + i}, {"shard", name}, {"shard_row", i}, {"id", set.ids[e.material]},
                          {"origin", {e.origin[0], e.origin[1], e.origin[2]}}};
      index += j.dump() + "\n";
    }
  }
  const double secs = seconds_since(t0);
  write_text_file_atomic(pending.temp_path() + "/index.jsonl", index);
  if (fs::exists(dir)) fs::remove_all(dir);
  pending.commit();
  std::printf("wrote %zu sequences (%d tokens per row, P=%d, %d bins) to %s\n", total, row_len, tok.patch(),
              tok.codec().bins(), dir.c_str());
  std::printf("throughput: %.0f sequences/s with %d threads (%.0f per thread)\n", total / secs, threads,
              total / secs / threads);
  return 0;
}

}  // namespace

int cmd_fit_codec(int argc, char** argv) {
  cxxopts::Options opts("rhotrain fit-codec", "Fit the LMQ (Lloyd–Max) density codec and report its floor.");
  opts.add_options()
      ("store", "store file(s) or glob(s)", cxxopts::value<std::vector<std::string>>())
      ("split", "split to fit on", cxxopts::value<std::string>()->default_value("train"))
      ("floor-split", "split to measure the codec floor on", cxxopts::value<std::string>()->default_value("val"))
      ("bins", "number of bins (16..65536)", cxxopts::value<int>()->default_value("256"))
      ("iterations", "maximum Lloyd iterations", cxxopts::value<int>()->default_value("30"))
      ("o,output", "codec file (HDF5)", cxxopts::value<std::string>());
  auto r = parse_command(opts, argc, argv);
  const int bins = r["bins"].as<int>();
  if (bins < 16 || bins > 65536) throw Error("--bins must be in 16..65536, not " + std::to_string(bins));
  const std::string out = required<std::string>(r, "output");
  auto store = open_store(r);
  const std::string split = r["split"].as<std::string>();

  const auto t0 = Clock::now();
  LloydReport report;
  const LmqCodec codec = fit_codec_on_split(*store, split, bins, r["iterations"].as<int>(), &report);
  std::printf("fitted on %llu voxels of split '%s' (%.1f s), clip_max %.4g e/A^3\n",
              static_cast<unsigned long long>(codec.fit_voxels), split.c_str(), seconds_since(t0), codec.clip_max());
  for (int i = 0; i < report.iterations; ++i)
    std::printf("lloyd iteration %2d: distortion (MSE) %.6e\n", i + 1, report.distortion[static_cast<size_t>(i)]);
  codec.save(out);

  const std::string floor_split = r["floor-split"].as<std::string>();
  double sum = 0;
  const auto floor_ids = store->split(floor_split);
  for (const auto& id : floor_ids) sum += codec_floor_nmae(codec, store->read(id).density);
  std::printf("codec %s: %d bins, clip_max %.4g; floor on '%s' (%zu materials): per-mat-mean NMAE %.4f %%\n",
              out.c_str(), bins, codec.clip_max(), floor_split.c_str(), floor_ids.size(),
              100.0 * sum / static_cast<double>(floor_ids.size()));
  return 0;
}

int cmd_tokenize(int argc, char** argv) {
  cxxopts::Options opts("rhotrain tokenize",
                        "One v3 sequence as JSON (--id, --origin), or the plan's first N sequences as .npy shards (--out).");
  opts.add_options()
      ("store", "store file(s) or glob(s)", cxxopts::value<std::vector<std::string>>())
      ("codec", "LMQ codec file", cxxopts::value<std::string>())
      ("patch", "patch edge P", cxxopts::value<int>()->default_value("19"))
      ("max-len", "maximum sequence length", cxxopts::value<int>()->default_value("8192"))
      ("id", "material id (single sequence)", cxxopts::value<std::string>())
      ("origin", "patch origin I,J,K (single sequence)", cxxopts::value<std::string>())
      ("sequences", "number of sequences to export (bulk)", cxxopts::value<size_t>())
      ("out", "output folder (bulk)", cxxopts::value<std::string>())
      ("shard-rows", "rows per .npy shard", cxxopts::value<size_t>()->default_value("4096"))
      ("threads", "tokenizer threads (bulk)", cxxopts::value<int>()->default_value("2"));
  add_plan_options(opts);
  auto r = parse_command(opts, argc, argv);
  const V3Tokenizer tok(r["patch"].as<int>(), LmqCodec::load(required<std::string>(r, "codec")), r["max-len"].as<int>());
  if (r.count("id") && r.count("out")) throw Error("give either --id/--origin (one sequence) or --out (bulk export)");
  if (r.count("id")) return tokenize_one(r, tok);
  if (r.count("out")) return tokenize_bulk(r, tok);
  throw Error("give --id and --origin for one sequence, or --sequences and --out for a bulk export");
}

int cmd_preview(int argc, char** argv) {
  cxxopts::Options opts("rhotrain preview",
                        "Phase 0: patches per material per epoch under each weighting (reads metadata only).");
  opts.add_options()
      ("store", "store file(s) or glob(s)", cxxopts::value<std::vector<std::string>>())
      ("json", "print one JSON object instead of tables")
      ("plot", "SVG histogram path (default: next to the store)", cxxopts::value<std::string>()->default_value(""));
  add_plan_options(opts);
  auto r = parse_command(opts, argc, argv);
  auto store = open_store(r);
  const std::string split = r["split"].as<std::string>();
  const PlanSpec spec = plan_spec(r);
  const auto ids = store->split(split);
  std::vector<double> n_e;
  for (const auto& id : ids) {
    const auto [sum_z, grid] = store->electrons(id);
    n_e.push_back(electron_count(sum_z, grid, spec.electrons_from));
    if (!(n_e.back() > 0)) throw Error(id + ": electron count is not positive");
  }
  const size_t T = static_cast<size_t>(std::llround(spec.patches_per_mat * static_cast<double>(ids.size())));
  const double u = allocation_offset(spec.seed, 0);
  constexpr double kWarnRatio = 30;

  auto describe = [](const std::vector<double>& v) {
    const Summary s = summarize(v);
    size_t below = 0;
    for (double x : v) below += x < 1;
    nlohmann::json j = {{"min", s.min}, {"p10", s.p10}, {"p50", s.p50}, {"p90", s.p90}, {"max", s.max},
                        {"max_min_ratio", s.min > 0 ? nlohmann::json(s.max / s.min) : nlohmann::json(nullptr)},
                        {"n_below_1", below}};
    return j;
  };
  nlohmann::json out = {{"split", split}, {"materials", ids.size()}, {"patches_per_mat", spec.patches_per_mat},
                        {"epoch_size", T}, {"electrons_from", r["electrons-from"].as<std::string>()},
                        {"warn_max_min_ratio", kWarnRatio}};
  std::vector<SvgSeries> plot;
  std::vector<std::vector<double>> shares_by_weighting;
  for (const auto& name : weighting_names()) {
    const auto strategy = make_weighting(name);
    std::vector<double> w;
    for (double x : n_e) w.push_back(strategy->weight(x));
    const auto shares = expected_shares(w, T);
    const auto counts = systematic_counts(shares, u);
    out[name] = describe(shares);
    out[name]["epoch0_counts"] = describe(std::vector<double>(counts.begin(), counts.end()));
    shares_by_weighting.push_back(shares);
  }
  const nlohmann::json& e = out["electrons"];
  const bool warn = e["max_min_ratio"].is_null() || e["max_min_ratio"].get<double>() > kWarnRatio;
  out["warning"] = warn;

  // Histogram of M_i on log-spaced bins shared by both weightings.
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  for (const auto& s : shares_by_weighting)
    for (double x : s) lo = std::min(lo, x), hi = std::max(hi, x);
  lo *= 0.9, hi *= 1.1;
  const int nb = 40;
  for (size_t k = 0; k < shares_by_weighting.size(); ++k) {
    std::vector<double> hist(nb, 0);
    for (double x : shares_by_weighting[k])
      hist[std::min(nb - 1, static_cast<int>(std::log(x / lo) / std::log(hi / lo) * nb))] += 1;
    SvgSeries s{weighting_names()[k], {}, SvgSeries::Style::step};
    for (int b = 0; b <= nb; ++b)
      s.points.emplace_back(lo * std::pow(hi / lo, static_cast<double>(b) / nb), hist[std::min(b, nb - 1)]);
    plot.push_back(s);
  }
  std::string plot_path = r["plot"].as<std::string>();
  if (plot_path.empty()) plot_path = fs::path(store->paths().front()).replace_extension("").string() + ".preview-" + split + ".svg";
  SvgChart chart{"Patches per material per epoch (M_i), split " + split + ", M̄ = " + std::to_string(static_cast<int>(spec.patches_per_mat)),
                 "M_i (expected patches per epoch)", "materials", true, plot};
  write_text_file_atomic(plot_path, chart.render());

  if (r.count("json")) {
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::printf("Phase 0 preview: split '%s', %zu materials, M̄ = %g, T = %zu patches per epoch, n_e from %s\n",
              split.c_str(), ids.size(), spec.patches_per_mat, T, r["electrons-from"].as<std::string>().c_str());
  std::printf("%-10s %-13s %9s %9s %9s %9s %9s %9s %6s\n", "weighting", "", "min", "p10", "p50", "p90", "max", "max:min",
              "M<1");
  for (const auto& name : weighting_names())
    for (const char* kind : {"shares M_i", "epoch 0"}) {
      const nlohmann::json& j = std::string(kind) == "epoch 0" ? out[name]["epoch0_counts"] : out[name];
      const std::string ratio = j["max_min_ratio"].is_null() ? "inf" : fmt_ratio(j["max_min_ratio"].get<double>());
      std::printf("%-10s %-13s %9.3f %9.3f %9.3f %9.3f %9.3f %9s %6zu\n", std::string(kind) == "epoch 0" ? "" : name.c_str(),
                  kind, j["min"].get<double>(), j["p10"].get<double>(), j["p50"].get<double>(), j["p90"].get<double>(),
                  j["max"].get<double>(), ratio.c_str(), j["n_below_1"].get<size_t>());
    }
  const std::string ratio = e["max_min_ratio"].is_null() ? "inf" : fmt_ratio(e["max_min_ratio"].get<double>());
  if (warn)
    std::printf("WARNING: electrons weighting max:min = %s > %.0f: the per-material NMAE cost of electron weighting "
                "is expected to be substantial (small-n_e materials get few patches)\n", ratio.c_str(), kWarnRatio);
  else
    std::printf("no warning: electrons weighting max:min = %s <= %.0f\n", ratio.c_str(), kWarnRatio);
  std::printf("plot: %s\n", plot_path.c_str());
  return 0;
}

}  // namespace rhotrain
