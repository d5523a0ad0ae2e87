#include "common/files.h"

#include <fcntl.h>
#include <glob.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "common/error.h"

namespace rhotrain {

std::string read_text_file(const std::string& path, size_t max_bytes) {
  if (!std::filesystem::exists(path)) throw Error(path + ": no such file");
  if (std::filesystem::is_directory(path)) throw Error(path + ": is a directory, not a file");
  gzFile f = gzopen(path.c_str(), "rb");  // reads plain files unchanged
  if (!f) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
  gzbuffer(f, 1 << 18);
  std::string out;
  char buf[1 << 16];
  while (out.size() < max_bytes) {
    int n = gzread(f, buf, static_cast<unsigned>(std::min(sizeof buf, max_bytes - out.size())));
    if (n < 0) {
      int code = 0;
      std::string msg = gzerror(f, &code);
      gzclose(f);
      throw Error(path + ": read error (" + msg + ")");
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  gzclose(f);
  return out;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || !name[0]) return "host";
  return name;
}

namespace {

// `<anything>.tmp-<host>-<pid>` written by a process of this host that is no longer alive: what a killed command
// leaves behind. Processes of other hosts (a shared filesystem) are never judged.
bool left_by_a_dead_process(const std::string& name, const std::string& host) {
  const std::string marker = ".tmp-" + host + "-";
  const size_t at = name.rfind(marker);
  if (at == std::string::npos) return false;
  const std::string pid = name.substr(at + marker.size());
  if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos) return false;
  return ::kill(static_cast<pid_t>(std::stol(pid)), 0) != 0 && errno == ESRCH;
}

// One rule for every file rhotrain writes: missing folders on its path are created. One that cannot be is said so by
// the write that follows, naming the file.
void create_parent_folders(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::path(path).has_parent_path()) std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
}

}  // namespace

void remove_files_left_by_killed_writers(const std::string& dir) {
  const std::string host = host_name();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir.empty() ? "." : dir, ec)) {
    if (!left_by_a_dead_process(entry.path().filename().string(), host)) continue;
    if (std::filesystem::remove_all(entry.path(), ec) > 0 && !ec)
      std::fprintf(stderr, "note: removed %s, left by a command that was killed while writing\n", entry.path().c_str());
  }
}

PendingFile::PendingFile(std::string final_path)
    : final_(std::move(final_path)), temp_(final_ + ".tmp-" + host_name() + "-" + std::to_string(::getpid())) {
  create_parent_folders(final_);
  std::error_code ec;
  std::filesystem::remove_all(temp_, ec);
  remove_files_left_by_killed_writers(std::filesystem::path(final_).parent_path().string());
}

PendingFile::~PendingFile() {
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove_all(temp_, ec);
  }
}

std::string PendingFile::as_final(std::string message) const {
  for (size_t at = message.find(temp_); at != std::string::npos; at = message.find(temp_, at + final_.size()))
    message.replace(at, temp_.size(), final_);
  return message;
}

void PendingFile::commit() {
  std::error_code ec;
  std::filesystem::rename(temp_, final_, ec);
  if (ec) throw Error(final_ + ": cannot rename temporary file into place (" + ec.message() + ")");
  committed_ = true;
}

namespace {

std::string this_command_line() {
  std::string raw = read_text_file("/proc/self/cmdline");
  std::replace(raw.begin(), raw.end(), '\0', ' ');
  while (!raw.empty() && raw.back() == ' ') raw.pop_back();
  return raw;
}

}  // namespace

WriterLock::WriterLock(const std::string& lock_file, const std::string& what) : path_(lock_file) {
  create_parent_folders(path_);  // the writer it guards creates missing folders; so does its lock, which comes first
  for (;;) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error(path_ + ": cannot create the lock file (" + std::strerror(errno) + ")");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      char holder[1024] = {};
      const ssize_t n = ::pread(fd_, holder, sizeof holder - 1, 0);
      ::close(fd_);
      fd_ = -1;
      if (err != EWOULDBLOCK) throw Error(path_ + ": cannot lock (" + std::strerror(err) + ")");
      std::string who(holder, n > 0 ? static_cast<size_t>(n) : 0);
      while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
      throw Error(what + " is in use by " + (who.empty() ? std::string("another process") : who) + " (lock " + path_ +
                  "); wait for it to finish or stop it");
    }
    // A holder that was releasing may have removed the file between our open and our lock: lock the file that is there.
    struct stat held {}, named {};
    if (::fstat(fd_, &held) == 0 && ::stat(path_.c_str(), &named) == 0 && held.st_ino == named.st_ino && held.st_dev == named.st_dev)
      break;
    ::close(fd_);
  }
  const std::string who = "pid " + std::to_string(::getpid()) + " on " + host_name() + ": " + this_command_line() + "\n";
  // Without the note the lock holds all the same; only a second claim's message is poorer.
  [[maybe_unused]] const bool noted =
      ::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, who.data(), who.size(), 0) == static_cast<ssize_t>(who.size());
}

WriterLock::~WriterLock() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());
  ::close(fd_);
}

void write_text_file_atomic(const std::string& path, const std::string& text) {
  PendingFile pending(path);
  const bool gz = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  if (gz) {
    gzFile f = gzopen(pending.temp_path().c_str(), "wb6");
    if (!f) throw Error(path + ": cannot create (" + std::strerror(errno) + ")");
    const bool ok = gzwrite(f, text.data(), static_cast<unsigned>(text.size())) == static_cast<int>(text.size());
    const int write_errno = errno;
    if (gzclose(f) != Z_OK || !ok) throw Error(path + ": write failed (" + std::strerror(ok ? errno : write_errno) + ")");
  } else {
    FILE* f = std::fopen(pending.temp_path().c_str(), "wb");
    if (!f) throw Error(path + ": cannot create (" + std::strerror(errno) + ")");
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    const int write_errno = errno;
    if (std::fclose(f) != 0 || !ok) throw Error(path + ": write failed (" + std::strerror(ok ? errno : write_errno) + ")");
  }
  pending.commit();
}

TextCursor::TextCursor(std::string text, std::string path) : text_(std::move(text)), path_(std::move(path)) {}

void TextCursor::check_grid_fits(double nx, double ny, double nz) {
  const double values = nx * ny * nz;
  if (values > static_cast<double>(remaining())) {
    char what[160];
    std::snprintf(what, sizeof what, "a grid of %.0f x %.0f x %.0f values does not fit in the %zu bytes that follow", nx, ny, nz,
                  remaining());
    fail(what);
  }
}

void TextCursor::fail(const std::string& problem) const {
  throw Error(path_ + ":" + std::to_string(line_no_) + ": " + problem);
}

std::vector<double> TextCursor::numbers_in(std::string_view line, size_t n, const char* what) {
  std::istringstream is{std::string(line)};
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i)
    if (!(is >> v[i]))
      fail(std::string("expected ") + std::to_string(n) + " numbers for " + what + ", got '" + std::string(line) + "'");
  return v;
}

std::string_view TextCursor::line(const char* what) {
  if (at_end()) {
    ++line_no_;
    fail(std::string("unexpected end of file (expected ") + what + ")");
  }
  size_t end = text_.find('\n', pos_);
  if (end == std::string::npos) end = text_.size();
  std::string_view l(text_.data() + pos_, end - pos_);
  if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
  pos_ = end + 1;
  ++line_no_;
  return l;
}

void TextCursor::numbers(size_t count, float* out, double scale, const char* what) {
  const char* p = text_.data() + pos_;
  const char* end = text_.data() + text_.size();
  size_t got = 0;
  if (p < end) ++line_no_;  // numbers start on a fresh line
  while (got < count) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
      if (*p == '\n') ++line_no_;
      ++p;
    }
    if (p >= end) {
      pos_ = text_.size();
      fail(std::string("file ends after ") + std::to_string(got) + " of " + std::to_string(count) + " " + what +
           " values (truncated?)");
    }
    double v = 0;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc() || (next < end && !std::isspace(static_cast<unsigned char>(*next)))) {
      const char* tok_end = p;
      while (tok_end < end && !std::isspace(static_cast<unsigned char>(*tok_end))) ++tok_end;
      pos_ = static_cast<size_t>(p - text_.data());
      fail(std::string("non-numeric ") + what + " value '" + std::string(p, tok_end) + "' (value " +
           std::to_string(got + 1) + " of " + std::to_string(count) + ")");
    }
    out[got++] = static_cast<float>(v * scale);
    p = next;
  }
  // Leave the cursor at the start of the next line so line() continues after the block.
  while (p < end && *p != '\n') ++p;
  pos_ = static_cast<size_t>(p - text_.data());
  if (p < end) ++pos_;
}

std::vector<std::string> expand_glob(const std::string& pattern, const std::string& what) {
  if (pattern.find_first_of("*?[") == std::string::npos) return {pattern};
  glob_t g{};
  const int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
  std::vector<std::string> found;
  if (rc == 0) found.assign(g.gl_pathv, g.gl_pathv + g.gl_pathc);
  globfree(&g);
  if (found.empty()) throw Error(pattern + ": no " + what + " matches this pattern");
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace rhotrain
