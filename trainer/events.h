// TensorBoard event files: a writer (scalars, histograms, text) and a reader that checks every record's
// CRCs and tolerates a file still being written. Framing is TFRecord: length, masked CRC-32C of the
// length, Event proto bytes, masked CRC-32C of the data.
#pragma once
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace rhotrain {

uint32_t crc32c(const void* data, size_t n);
uint32_t masked_crc32c(const void* data, size_t n);

class EventWriter {
 public:
  // Creates run_dir/events.out.tfevents.<time>.<host><suffix>, or — when `resume_file` is given — truncates that
  // file to `resume_bytes` (what was on disk at the checkpoint) and appends, so no step is logged twice.
  explicit EventWriter(const std::string& run_dir, const std::string& resume_file = "", uint64_t resume_bytes = 0,
                       const std::string& suffix = "");
  // Records nothing: what the ranks other than 0 of a run on several processes log to.
  EventWriter() = default;
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  void scalar(const std::string& tag, int64_t step, double value);
  // Histogram of `values` on `buckets` equal-width buckets between their min and max.
  void histogram(const std::string& tag, int64_t step, const std::vector<double>& values, int buckets = 30);
  void text(const std::string& tag, int64_t step, const std::string& markdown);
  // Flushes to disk; returns the file size, recorded in checkpoints.
  uint64_t flush();
  const std::string& file_name() const { return name_; }

 private:
  void write_record(const std::string& event_bytes);
  std::string name_, path_;
  FILE* file_ = nullptr;
};

// One scalar point read back from an event file.
struct ScalarPoint {
  std::string tag;
  int64_t step;
  double wall_time;
  double value;
};

struct EventFileContents {
  std::vector<ScalarPoint> scalars;
  std::vector<std::string> histogram_tags, text_tags;
  std::string file_version;
  size_t records = 0;
  bool truncated_tail = false;  // the last record was incomplete (file still being written)
};

// Reads every record; throws Error naming the file and offset when a complete record fails its CRC.
EventFileContents read_event_file(const std::string& path);
// Event files of a run directory, oldest first.
std::vector<std::string> event_files(const std::string& run_dir);
// The folders at or below `dir` that hold event files, as `tensorboard --logdir` finds runs: `dir` itself when it holds
// one, else each subfolder that does (sorted, searched to any depth).
std::vector<std::string> run_folders(const std::string& dir);

// Every scalar of a run whose tag `keep` accepts: tag → step → value (a later record for the same step wins).
struct RunScalars {
  std::map<std::string, std::map<int64_t, double>> by_tag;
  bool truncated = false;  // a last record was incomplete (its file still being written) and was left out
};
RunScalars read_run_scalars(const std::string& run_dir, const std::function<bool(const std::string& tag)>& keep);

}  // namespace rhotrain
