// File plumbing shared by the importers, exporters and the store: gzip-transparent text reading,
// a line/number cursor with "file:line:" error context, and write-to-temp-then-rename.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace rhotrain {

// The file as text (its first `max_bytes` only, when given); gzip-compressed files are inflated.
// Throws Error("<path>: ...") when it is missing, a directory or unreadable.
std::string read_text_file(const std::string& path, size_t max_bytes = static_cast<size_t>(-1));

// Writes text to `path` atomically (temp name + rename); gzip-compresses when path ends in ".gz".
void write_text_file_atomic(const std::string& path, const std::string& text);

// Removes (saying so) the temporary files and folders in `dir` of PendingFiles whose process, on this host, is gone.
void remove_files_left_by_killed_writers(const std::string& dir);

// This machine's name, as temporary files, locks and event files carry it.
std::string host_name();

// A temporary sibling of `final_path` (`<final>.tmp-<host>-<pid>`) that is renamed onto it by commit() and removed
// otherwise, so an error part-way leaves nothing half-written behind. Missing folders on the path are created. A process killed before either leaves it behind:
// the next PendingFile in that folder removes it.
class PendingFile {
 public:
  explicit PendingFile(std::string final_path);
  ~PendingFile();
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;

  const std::string& temp_path() const { return temp_; }
  const std::string& final_path() const { return final_; }
  void commit();
  // `message` with the temporary name replaced by the final one: errors name what the user asked for.
  std::string as_final(std::string message) const;

 private:
  std::string final_, temp_;
  bool committed_ = false;
};

// One process's claim on something it writes (a run directory, a store): an exclusive flock on `lock_file`, which
// records the holder. A second claim fails at once with an Error naming `what` and the holder; the kernel drops the
// lock when its holder dies, so a killed process never leaves it stuck. The file is removed on release.
class WriterLock {
 public:
  WriterLock(const std::string& lock_file, const std::string& what);
  ~WriterLock();
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
};

// Walks text line by line and number by number, keeping the line number for error messages.
// The files a shell-style pattern ("data/*.CHGCAR") matches, sorted; a path without * ? [ is returned as it is, so
// that a missing file is reported by whoever opens it. Throws "<pattern>: no <what> matches this pattern".
std::vector<std::string> expand_glob(const std::string& pattern, const std::string& what);

class TextCursor {
 public:
  TextCursor(std::string text, std::string path);

  bool at_end() const { return pos_ >= text_.size(); }
  // Bytes not read yet: what a header's claims (atom counts, grid sizes) are checked against before anything is
  // allocated for them.
  size_t remaining() const { return pos_ < text_.size() ? text_.size() - pos_ : 0; }
  // Next line without its newline; throws "<path>:<line>: unexpected end of file (expected <what>)".
  std::string_view line(const char* what);
  // Reads `count` whitespace-separated numbers spanning any number of lines, each times `scale`.
  void numbers(size_t count, float* out, double scale, const char* what);
  // The first n numbers of `line` (a line this cursor returned); fails naming `what` otherwise.
  std::vector<double> numbers_in(std::string_view line, size_t n, const char* what);
  [[noreturn]] void fail(const std::string& problem) const;
  // Fails unless an nx × ny × nz grid of values could fit in what remains (a value takes a byte at the very least): a
  // header claiming 10⁶ × 10⁶ × 10⁶ is refused before anything is allocated for it.
  void check_grid_fits(double nx, double ny, double nz);
  const std::string& path() const { return path_; }

 private:
  std::string text_, path_;
  size_t pos_ = 0;
  int line_no_ = 0;
};

}  // namespace rhotrain
