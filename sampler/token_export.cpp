#include "sampler/token_export.h"

#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/error.h"
#include "common/files.h"
#include "sampler/patch_stream.h"

namespace rhotrain {
namespace {

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

// Token rows for `entries`, tokenized by `threads` threads on contiguous slices, so the bytes do not
// depend on the thread count.
std::vector<int32_t> tokenize_in_parallel(const PatchSource& source, const V3Tokenizer& tok,
                                          const std::vector<PlanEntry>& entries, int threads, const AtomGrids* atoms) {
  const size_t rows = entries.size(), row_len = static_cast<size_t>(tok.max_len());
  std::vector<int32_t> buffer(rows * row_len);
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      try {
        const size_t lo = rows * t / threads, hi = rows * (t + 1) / threads;
        std::vector<PlanEntry> part(entries.begin() + lo, entries.begin() + hi);
        const TokenRows tr = tokenize_entries(source, tok, part, tok.max_len(), atoms);
        std::copy(tr.tokens.begin(), tr.tokens.end(), buffer.begin() + lo * row_len);
      } catch (...) {
        errors[static_cast<size_t>(t)] = std::current_exception();
      }
    });
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return buffer;
}

}  // namespace

double export_token_shards(const TrainingSet& set, const V3Tokenizer& tok, const TokenExportSpec& spec, const std::string& dir) {
  if (spec.sequences == 0 || spec.shard_rows == 0) throw Error("--sequences and --shard-rows must be positive");
  const int threads = std::max(1, spec.threads);
  PendingFile pending(dir);
  std::filesystem::create_directories(pending.temp_path());
  PatchStream stream(*set.plan);
  std::string index;
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t first = 0, shard = 0; first < spec.sequences; first += spec.shard_rows, ++shard) {
    const size_t rows = std::min(spec.shard_rows, spec.sequences - first);
    std::vector<PlanEntry> entries(rows);
    for (size_t i = 0; i < rows; ++i) entries[i] = stream.at(first + i);
    const auto buffer = tokenize_in_parallel(*set.source, tok, entries, threads, set.atom_grids.get());
    char name[64];
    std::snprintf(name, sizeof name, "tokens-%05zu.npy", shard);
    write_npy(pending.temp_path() + "/" + name, buffer.data(), rows, static_cast<size_t>(tok.max_len()));
    for (size_t i = 0; i < rows; ++i) {
      const PlanEntry& e = entries[i];
      nlohmann::json j = {{"row", first + i}, {"shard", name}, {"shard_row", i}, {"id", set.ids[e.material]},
                          {"origin", {e.origin[0], e.origin[1], e.origin[2]}}};
      index += j.dump() + "\n";
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  write_text_file_atomic(pending.temp_path() + "/index.jsonl", index);
  if (std::filesystem::exists(dir)) std::filesystem::remove_all(dir);
  pending.commit();
  return static_cast<double>(spec.sequences) / seconds;
}

}  // namespace rhotrain
