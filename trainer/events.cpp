#include "trainer/events.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>

#include "common/error.h"
#include "common/files.h"
#include "trainer/tensorboard.pb.h"

namespace rhotrain {
namespace {

namespace fs = std::filesystem;

const uint32_t* crc_table() {
  static uint32_t table[256];
  static bool ready = [] {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // Castagnoli, reflected
      table[i] = c;
    }
    return true;
  }();
  (void)ready;
  return table;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

uint32_t crc32c(const void* data, size_t n) {
  const uint32_t* t = crc_table();
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = t[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(const void* data, size_t n) {
  const uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

EventWriter::EventWriter(const std::string& run_dir, const std::string& resume_file, uint64_t resume_bytes, const std::string& suffix) {
  if (!resume_file.empty() && fs::exists(fs::path(run_dir) / resume_file)) {
    name_ = resume_file;
    path_ = (fs::path(run_dir) / name_).string();
    fs::resize_file(path_, resume_bytes);  // drop what was logged after the checkpoint
    file_ = std::fopen(path_.c_str(), "ab");
    if (!file_) throw Error(path_ + ": cannot append to event file (" + std::strerror(errno) + ")");
    return;
  }
  name_ = "events.out.tfevents." + std::to_string(static_cast<long long>(now_seconds())) + "." + host_name() + suffix;
  path_ = (fs::path(run_dir) / name_).string();
  file_ = std::fopen(path_.c_str(), "wb");
  if (!file_) throw Error(path_ + ": cannot create event file (" + std::strerror(errno) + ")");
  tb::Event e;
  e.set_wall_time(now_seconds());
  e.set_file_version("brain.Event:2");
  write_record(e.SerializeAsString());
  flush();
}

EventWriter::~EventWriter() {
  if (file_) std::fclose(file_);
}

void EventWriter::write_record(const std::string& data) {
  if (!file_) return;
  const uint64_t len = data.size();
  char header[12];
  std::memcpy(header, &len, 8);  // little-endian hosts only, as TensorFlow itself assumes
  const uint32_t len_crc = masked_crc32c(header, 8), data_crc = masked_crc32c(data.data(), data.size());
  std::memcpy(header + 8, &len_crc, 4);
  // A short write is a full disk or a lost mount: stop here, while errno still says which, rather than at the next flush.
  if (std::fwrite(header, 1, 12, file_) != 12 || std::fwrite(data.data(), 1, data.size(), file_) != data.size() ||
      std::fwrite(&data_crc, 1, 4, file_) != 4)
    throw Error(path_ + ": cannot write the event file (" + std::strerror(errno) + ")");
}

void EventWriter::scalar(const std::string& tag, int64_t step, double value) {
  tb::Event e;
  e.set_wall_time(now_seconds());
  e.set_step(step);
  auto* v = e.mutable_summary()->add_value();
  v->set_tag(tag);
  v->set_simple_value(static_cast<float>(value));
  write_record(e.SerializeAsString());
}

void EventWriter::histogram(const std::string& tag, int64_t step, const std::vector<double>& values, int buckets) {
  if (values.empty()) return;
  tb::Event e;
  e.set_wall_time(now_seconds());
  e.set_step(step);
  auto* v = e.mutable_summary()->add_value();
  v->set_tag(tag);
  auto* h = v->mutable_histo();
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  h->set_min(*lo);
  h->set_max(*hi);
  h->set_num(static_cast<double>(values.size()));
  double sum = 0, sq = 0;
  for (double x : values) sum += x, sq += x * x;
  h->set_sum(sum);
  h->set_sum_squares(sq);
  const double width = (*hi - *lo) / buckets;
  std::vector<double> counts(static_cast<size_t>(buckets), 0.0);
  for (double x : values)
    counts[width > 0 ? std::min<size_t>(buckets - 1, static_cast<size_t>((x - *lo) / width)) : 0] += 1;
  for (int b = 0; b < buckets; ++b) {
    h->add_bucket_limit(b + 1 == buckets ? *hi : *lo + width * (b + 1));
    h->add_bucket(counts[static_cast<size_t>(b)]);
  }
  write_record(e.SerializeAsString());
}

void EventWriter::text(const std::string& tag, int64_t step, const std::string& markdown) {
  tb::Event e;
  e.set_wall_time(now_seconds());
  e.set_step(step);
  auto* v = e.mutable_summary()->add_value();
  v->set_tag(tag);
  v->mutable_metadata()->mutable_plugin_data()->set_plugin_name("text");
  auto* t = v->mutable_tensor();
  t->set_dtype(7);  // DT_STRING
  t->add_string_val(markdown);
  write_record(e.SerializeAsString());
}

uint64_t EventWriter::flush() {
  if (!file_) return 0;
  if (std::fflush(file_) != 0 || std::ferror(file_) || fsync(fileno(file_)) != 0)
    throw Error(path_ + ": cannot write the event file (" + std::strerror(errno) + ")");
  return static_cast<uint64_t>(std::ftell(file_));
}

EventFileContents read_event_file(const std::string& path) {
  const std::string raw = read_text_file(path);
  EventFileContents out;
  size_t pos = 0;
  while (pos < raw.size()) {
    if (raw.size() - pos < 12) {
      out.truncated_tail = true;
      break;
    }
    uint64_t len;
    uint32_t len_crc;
    std::memcpy(&len, raw.data() + pos, 8);
    std::memcpy(&len_crc, raw.data() + pos + 8, 4);
    if (len_crc != masked_crc32c(raw.data() + pos, 8))
      throw Error(path + ": record at byte " + std::to_string(pos) + " fails its length CRC (corrupt event file)");
    if (raw.size() - pos - 12 < len + 4) {
      out.truncated_tail = true;
      break;
    }
    const char* data = raw.data() + pos + 12;
    uint32_t data_crc;
    std::memcpy(&data_crc, data + len, 4);
    if (data_crc != masked_crc32c(data, len))
      throw Error(path + ": record at byte " + std::to_string(pos) + " fails its data CRC (corrupt event file)");
    tb::Event e;
    if (!e.ParseFromArray(data, static_cast<int>(len)))
      throw Error(path + ": record at byte " + std::to_string(pos) + " is not an Event");
    ++out.records;
    if (e.has_file_version()) out.file_version = e.file_version();
    if (e.has_summary())
      for (const auto& v : e.summary().value()) {
        if (v.has_simple_value()) out.scalars.push_back({v.tag(), e.step(), e.wall_time(), v.simple_value()});
        if (v.has_histo()) out.histogram_tags.push_back(v.tag());
        if (v.has_tensor() && v.metadata().plugin_data().plugin_name() == "text") out.text_tags.push_back(v.tag());
      }
    pos += 12 + len + 4;
  }
  return out;
}

std::vector<std::string> event_files(const std::string& run_dir) {
  if (!fs::is_directory(run_dir)) throw Error(run_dir + ": no such run directory");
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(run_dir))
    if (e.path().filename().string().find("tfevents") != std::string::npos) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> run_folders(const std::string& dir) {
  if (!event_files(dir).empty()) return {dir};
  std::vector<std::string> folders;
  for (const auto& e : fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied))
    if (e.is_directory() && !event_files(e.path().string()).empty()) folders.push_back(e.path().string());
  std::sort(folders.begin(), folders.end());
  return folders;
}

RunScalars read_run_scalars(const std::string& run_dir, const std::function<bool(const std::string& tag)>& keep) {
  RunScalars out;
  for (const auto& file : event_files(run_dir)) {
    const EventFileContents c = read_event_file(file);
    out.truncated |= c.truncated_tail;
    for (const auto& p : c.scalars)
      if (keep(p.tag)) out.by_tag[p.tag][p.step] = p.value;
  }
  return out;
}

}  // namespace rhotrain
