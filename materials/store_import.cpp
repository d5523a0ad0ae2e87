#include "materials/store_import.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "common/error.h"
#include "common/files.h"
#include "common/text.h"
#include "materials/chgcar.h"
#include "materials/store.h"

namespace rhotrain {
namespace {

namespace fs = std::filesystem;

// One file after parsing: its material, or why it could not be read.
struct Parsed {
  std::optional<Material> material;
  std::string error, note;
};

Parsed parse(const std::string& path, const ImportOptions& o) {
  Parsed p;
  try {
    Material m = read_density_file(path, o.format, o.species);
    m.id = import_id(path, o.id_pattern);
    // --species names the types of VASP 4 files; a file that names its own keeps them, which is worth a note.
    if (!o.species.empty() && sniff_density_format(path) == DensityFormat::chgcar)
      if (const auto own = chgcar_species_line(path); own && *own != o.species) {
        std::string names;
        for (const auto& s : *own) names += (names.empty() ? "" : ",") + s;
        p.note = path + " names its species (" + names + "); --species is for VASP 4 files and is ignored here";
      }
    for (const std::string& what : normalise_for_store(m)) p.note += (p.note.empty() ? path + ": " : "; ") + what;
    p.material = std::move(m);
  } catch (const Error& e) {
    p.error = e.what();
  }
  return p;
}

// Parses every file with `jobs` threads and hands the results to `consume` in file order, holding at most 2·jobs
// parsed files at once: a CHGCAR at Materials Project scale is tens of megabytes.
void parse_in_order(const std::vector<std::string>& files, const ImportOptions& o,
                    const std::function<void(size_t, Parsed&&)>& consume) {
  const size_t jobs = static_cast<size_t>(std::max(1, o.jobs)), window = 2 * jobs;
  std::mutex mutex;
  std::condition_variable changed;
  std::map<size_t, Parsed> ready;
  size_t next_to_parse = 0, consumed = 0;
  bool abandon = false;
  std::vector<std::thread> workers;
  for (size_t w = 0; w < jobs; ++w)
    workers.emplace_back([&] {
      for (;;) {
        size_t i;
        {
          std::unique_lock<std::mutex> lock(mutex);
          changed.wait(lock, [&] { return abandon || next_to_parse >= files.size() || next_to_parse < consumed + window; });
          if (abandon || next_to_parse >= files.size()) return;
          i = next_to_parse++;
        }
        Parsed p = parse(files[i], o);
        std::lock_guard<std::mutex> lock(mutex);
        ready.emplace(i, std::move(p));
        changed.notify_all();
      }
    });
  try {
    for (size_t i = 0; i < files.size(); ++i) {
      Parsed p;
      {
        std::unique_lock<std::mutex> lock(mutex);
        changed.wait(lock, [&] { return ready.count(i) > 0; });
        p = std::move(ready.at(i));
        ready.erase(i);
      }
      consume(i, std::move(p));
      std::lock_guard<std::mutex> lock(mutex);
      ++consumed;
      changed.notify_all();
    }
  } catch (...) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      abandon = true;
      changed.notify_all();
    }
    for (auto& t : workers) t.join();
    throw;
  }
  for (auto& t : workers) t.join();
}

// What a failed import says: the one bad file's reason, or how many failed and the first reason.
[[noreturn]] void refuse(const ImportReport& r, size_t files, const std::string& why) {
  if (r.bad.size() == 1 && files == 1) throw Error(r.bad.front().second);
  throw Error(why + ": " + std::to_string(r.bad.size()) + " of " + count_of(files, "file") + " could not be read (first: " +
              r.bad.front().second + ")");
}

// A store in one file: every good file parsed first, then the store changed through a copy renamed into place.
void import_into_file(const std::vector<std::string>& files, const std::string& store, const ImportOptions& o, ImportReport& r) {
  std::vector<Material> materials;
  std::map<std::string, std::string> file_of_id;
  parse_in_order(files, o, [&](size_t i, Parsed&& p) {
    if (!p.note.empty()) r.notes.push_back(p.note);
    if (!p.material) return r.bad.emplace_back(files[i], p.error), void();
    auto [it, inserted] = file_of_id.emplace(p.material->id, files[i]);
    if (!inserted) throw Error(files[i] + ": id '" + p.material->id + "' is also the id of " + it->second + " (use --id-from)");
    materials.push_back(std::move(*p.material));
  });
  if (!r.bad.empty() && (o.strict || materials.empty())) refuse(r, files.size(), "nothing imported");
  update_store(store, [&](StoreWriter& w) {
    for (const auto& m : materials) {
      if (w.contains(m.id) && !o.overwrite)
        throw Error(store + ": material id '" + m.id + "' (from " + m.source + ") already exists; use --overwrite");
      w.write(m, o.overwrite);
    }
  });
  for (const auto& m : materials) r.imported.push_back(m);
}

// New shards of a directory store, each written under a temporary name; without `strict` each is renamed into place
// when it is full, so an import cut short keeps what it finished; with it, all are renamed at the end or none.
class ShardWriter {
 public:
  ShardWriter(std::string dir, int first_index, size_t shard_bytes, bool keep_until_end)
      : dir_(std::move(dir)), index_(first_index), shard_bytes_(shard_bytes), keep_until_end_(keep_until_end) {}

  void write(const Material& m) {
    if (!writer_) {
      char name[32];
      std::snprintf(name, sizeof name, "shard-%05d.h5", index_++);
      pending_.push_back(std::make_unique<PendingFile>((fs::path(dir_) / name).string()));
      writer_ = std::make_unique<StoreWriter>(pending_.back()->temp_path(), StoreWriter::Mode::create, StorePart::shard);
    }
    writer_->write(m);
    if (writer_->file_bytes() >= shard_bytes_) close();
  }
  void close() {
    if (!writer_) return;
    writer_->close();
    writer_.reset();
    if (!keep_until_end_) commit();
  }
  // Renames every closed shard into place; returns their paths.
  std::vector<std::string> commit() {
    for (auto& p : pending_) {
      p->commit();
      committed_.push_back(p->final_path());
    }
    pending_.clear();
    return committed_;
  }

 private:
  std::string dir_;
  int index_;
  size_t shard_bytes_;
  bool keep_until_end_;
  std::vector<std::unique_ptr<PendingFile>> pending_;
  std::unique_ptr<StoreWriter> writer_;
  std::vector<std::string> committed_;
};

// The number after the last existing shard-NNNNN.h5 of a directory store.
int next_shard_index(const std::string& dir) {
  int next = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    int n = 0;
    if (std::sscanf(e.path().filename().string().c_str(), "shard-%d.h5", &n) == 1 && e.path().extension() == ".h5")
      next = std::max(next, n + 1);
  }
  return next;
}

void import_into_directory(const std::vector<std::string>& files, const std::string& store, const ImportOptions& o,
                           ImportReport& r) {
  if (o.overwrite) throw UsageError("--overwrite would rewrite a shard; a directory store never rewrites one");
  fs::create_directories(store);
  // Two imports at once would both number their shards after the same last one.
  const WriterLock lock((fs::path(store) / ".lock").string(), "store " + store);
  std::set<std::string> have;
  if (const auto parts = directory_store_parts(store); !parts.empty()) {
    const MaterialStore existing(parts, 0);
    have.insert(existing.ids().begin(), existing.ids().end());
  }
  std::map<std::string, std::string> file_of_id;
  ShardWriter shards(store, next_shard_index(store), o.shard_bytes, o.strict);
  parse_in_order(files, o, [&](size_t i, Parsed&& p) {
    if (!p.note.empty()) r.notes.push_back(p.note);
    if (!p.material) return r.bad.emplace_back(files[i], p.error), void();
    const std::string& id = p.material->id;
    if (have.count(id)) return r.already_in.push_back(id), void();
    auto [it, inserted] = file_of_id.emplace(id, files[i]);
    if (!inserted) return r.bad.emplace_back(files[i], files[i] + ": id '" + id + "' is also the id of " + it->second), void();
    shards.write(*p.material);
    r.imported.push_back(*p.material);  // the report keeps the metadata only
  });
  shards.close();
  if (!r.bad.empty() && (o.strict || (r.imported.empty() && r.already_in.empty()))) refuse(r, files.size(), "nothing imported");
  r.shards = shards.commit();
}

}  // namespace

std::string import_id(const std::string& path, const std::string& pattern) {
  if (!pattern.empty()) {
    std::smatch match;
    const std::regex re(pattern);
    if (!std::regex_search(path, match, re))
      throw Error(path + ": --id-from pattern '" + pattern + "' does not match this path");
    return match.size() > 1 ? match[1].str() : match[0].str();
  }
  fs::path p(path);
  if (p.extension() == ".gz") p = p.stem();
  return p.stem().string();
}

ImportReport import_density_files(const std::vector<std::string>& files, const std::string& store, const ImportOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  ImportReport r;
  for (const auto& f : files)
    if (fs::is_regular_file(f)) r.bytes_read += static_cast<double>(fs::file_size(f));
  if (names_directory_store(store)) import_into_directory(files, store, o, r);
  else import_into_file(files, store, o, r);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace rhotrain
