// Runs a command as a child process with its output in a log file: how the experiment trains several runs side by
// side, each a `rhotrain train` of its own, and follows them.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

namespace rhotrain {

// Starts argv[0] (a path) with argv, stdout and stderr appended to `log`; returns its pid. Throws Error.
pid_t spawn_logged(const std::vector<std::string>& argv, const std::string& log);

// The path of the running executable, for starting another copy of it.
std::string this_executable();

// The last line of `path` that starts with `prefix` (searching its final `tail_bytes`), or "" when there is none.
std::string last_line_starting(const std::string& path, const std::string& prefix, size_t tail_bytes = 1 << 16);

}  // namespace rhotrain
