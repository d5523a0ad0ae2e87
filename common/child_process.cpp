#include "common/child_process.h"

#include <fcntl.h>
#include <spawn.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/error.h"

extern char** environ;

namespace rhotrain {

pid_t spawn_logged(const std::vector<std::string>& argv, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv.at(0).c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw Error(argv[0] + ": cannot start (" + std::strerror(rc) + "); log " + log);
  return pid;
}

std::string this_executable() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

std::string last_line_starting(const std::string& path, const std::string& prefix, size_t tail_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff from = size > static_cast<std::streamoff>(tail_bytes) ? size - static_cast<std::streamoff>(tail_bytes) : 0;
  in.seekg(from);
  std::string text(static_cast<size_t>(size - from), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  std::string found;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) break;  // a line still being written
    if (text.compare(start, prefix.size(), prefix) == 0) found = text.substr(start, end - start);
    start = end + 1;
  }
  return found;
}

}  // namespace rhotrain
