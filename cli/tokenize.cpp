// rhotrain tokenize: one v3 sequence as JSON (the layout contract), or the plan's first N sequences as .npy shards.
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/plan_options.h"
#include "common/error.h"
#include "materials/store.h"
#include "sampler/token_export.h"
#include "sampler/training_set.h"

namespace rhotrain {
namespace {

std::shared_ptr<MaterialStore> open_store(const cxxopts::ParseResult& r, size_t cache_bytes) {
  return std::make_shared<MaterialStore>(expand_store_paths(required<std::vector<std::string>>(r, "store")), cache_bytes);
}

Grid parse_origin(const std::string& s) {
  Grid g{};
  if (std::sscanf(s.c_str(), "%d,%d,%d", &g[0], &g[1], &g[2]) != 3)
    throw Error("--origin must be I,J,K (three integers), not '" + s + "'");
  return g;
}

// The atomic-density fit a residual codec needs (--atoms), or none for a density codec.
std::shared_ptr<const AtomicDensity> residual_atoms(const cxxopts::ParseResult& r, const V3Tokenizer& tok) {
  if (tok.codec().target != "residual" && r.count("atoms"))
    throw UsageError("--atoms is for a residual codec; this codec encodes the density itself");
  return atoms_for_codec(r, tok.codec());
}

void tokenize_one(const cxxopts::ParseResult& r, const V3Tokenizer& tok) {
  auto store = open_store(r, 0);
  const auto atoms = residual_atoms(r, tok);
  const std::string id = required<std::string>(r, "id");
  const MaterialMeta& m = store->meta(id);
  const std::string reason = tok.skip_reason(m);
  if (!reason.empty()) throw Error(id + ": cannot be tokenized: " + reason);
  const Grid origin = parse_origin(required<std::string>(r, "origin"));
  std::vector<float> patch(static_cast<size_t>(tok.patch_voxels()));
  store->read_patch(id, origin, tok.patch(), patch.data());
  if (atoms) {
    std::vector<float> baseline(patch.size());
    gather_patch(m.grid, atoms->grid(m).data(), origin, tok.patch(), baseline.data());
    for (size_t v = 0; v < patch.size(); ++v) patch[v] -= baseline[v];
  }
  std::vector<int32_t> tokens(static_cast<size_t>(tok.sequence_length(m.n_atoms()))), bins(patch.size());
  tok.encode(m, origin, patch.data(), tokens.data(), bins.data());
  nlohmann::json j;
  j["tokens"] = tokens;
  j["dens_start"] = v3::dens_start(m.n_atoms());
  j["n_atoms"] = m.n_atoms();
  std::cout << j.dump() << "\n";
}

void tokenize_bulk(const cxxopts::ParseResult& r, const V3Tokenizer& tok) {
  const std::string split = r["split"].as<std::string>();
  const TrainingSet set = load_training_set(open_store(r, size_t{1} << 30), split, tok, plan_spec_from(r), residual_atoms(r, tok),
                                           size_t{1} << 30);
  set.skipped.print(std::cerr, "tokenize (split " + split + ")");
  TokenExportSpec spec;
  spec.sequences = required<size_t>(r, "sequences");
  spec.shard_rows = r["shard-rows"].as<size_t>();
  spec.threads = std::max(1, r["threads"].as<int>());
  const std::string dir = required<std::string>(r, "out");
  const double per_second = export_token_shards(set, tok, spec, dir);
  std::printf("wrote %zu sequences (%d tokens per row, P=%d, %d bins) to %s\n", spec.sequences, tok.max_len(), tok.patch(),
              tok.codec().bins(), dir.c_str());
  std::printf("throughput: %.0f sequences/s with %d threads (%.0f per thread)\n", per_second, spec.threads,
              per_second / spec.threads);
}

}  // namespace

int cmd_tokenize(int argc, char** argv) {
  cxxopts::Options opts("rhotrain tokenize",
                        "One v3 sequence as JSON (--id, --origin), or the plan's first N sequences as .npy shards (--out).");
  opts.add_options()
      ("store", "store file(s) or glob(s)", cxxopts::value<std::vector<std::string>>())
      ("codec", "LMQ codec file", cxxopts::value<std::string>())
      ("atoms", "atomic-density fit (with a residual codec: the tokens encode ρ − ρ_atoms)", cxxopts::value<std::string>())
      ("patch", "patch edge P", cxxopts::value<int>()->default_value("19"))
      ("max-len", "maximum sequence length", cxxopts::value<int>()->default_value("8192"))
      ("id", "material id (single sequence)", cxxopts::value<std::string>())
      ("origin", "patch origin I,J,K (single sequence)", cxxopts::value<std::string>())
      ("sequences", "number of sequences to export (bulk)", cxxopts::value<size_t>())
      ("o,out", "output folder (bulk)", cxxopts::value<std::string>())
      ("shard-rows", "rows per .npy shard", cxxopts::value<size_t>()->default_value("4096"))
      ("threads", "tokenizer threads (bulk)", cxxopts::value<int>()->default_value("2"));
  add_plan_options(opts);
  auto r = parse_command(opts, argc, argv);
  const V3Tokenizer tok(r["patch"].as<int>(), LmqCodec::load(required<std::string>(r, "codec")), r["max-len"].as<int>());
  if (r.count("id") && r.count("out")) throw Error("give either --id/--origin (one sequence) or --out (bulk export)");
  if (r.count("id")) {
    tokenize_one(r, tok);
  } else if (r.count("out")) {
    tokenize_bulk(r, tok);
  } else {
    throw Error("give --id and --origin for one sequence, or --sequences and --out for a bulk export");
  }
  return 0;
}

}  // namespace rhotrain
