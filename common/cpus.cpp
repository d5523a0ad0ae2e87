#include "common/cpus.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

namespace rhotrain {
namespace {

// The quota of cgroup v2 (cpu.max: "QUOTA PERIOD" or "max PERIOD") or v1 (cfs_quota_us / cfs_period_us) in CPUs; 0 when
// there is none. Only this process's own cgroup is read (/proc/self/cgroup), as the kernel enforces it there.
double cgroup_quota() {
  std::ifstream self("/proc/self/cgroup");
  std::string line, v2_path, v1_path;
  while (std::getline(self, line)) {
    const size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (line.compare(0, 2, "0:") == 0 && controllers.empty()) v2_path = path;
    if (controllers.find("cpu") != std::string::npos && controllers.find("cpuset") == std::string::npos) v1_path = path;
  }
  auto read_words = [](const std::string& file) {
    std::ifstream in(file);
    std::string w1, w2;
    in >> w1 >> w2;
    return std::make_pair(w1, w2);
  };
  double quota = 0;
  auto take = [&](double q) {
    if (q > 0 && (quota == 0 || q < quota)) quota = q;
  };
  if (!v2_path.empty()) {
    const auto [max, period] = read_words("/sys/fs/cgroup" + v2_path + "/cpu.max");
    if (!max.empty() && max != "max" && !period.empty()) take(std::stod(max) / std::stod(period));
  }
  if (!v1_path.empty()) {
    for (const std::string root : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"}) {
      const auto q = read_words(root + v1_path + "/cpu.cfs_quota_us").first, p = read_words(root + v1_path + "/cpu.cfs_period_us").first;
      if (!q.empty() && !p.empty() && std::stod(q) > 0) take(std::stod(q) / std::stod(p));
    }
  }
  return quota;
}

}  // namespace

UsableCpus usable_cpus() {
  UsableCpus u;
  cpu_set_t set;
  int mask = 0;
  if (sched_getaffinity(0, sizeof set, &set) == 0) mask = CPU_COUNT(&set);
  if (mask <= 0) mask = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  u.count = mask;
  u.why = std::to_string(mask) + (mask == 1 ? " core" : " cores") + " in this process's affinity mask";
  double quota = 0;
  try {
    quota = cgroup_quota();
  } catch (const std::exception&) {
    quota = 0;  // an unreadable quota file: the mask alone
  }
  if (quota > 0 && quota < mask) {
    u.count = std::max(1, static_cast<int>(std::floor(quota + 0.001)));
    std::ostringstream os;
    os << "a cgroup CPU quota of " << quota << " CPUs (" << mask << " cores in the affinity mask)";
    u.why = os.str();
  }
  return u;
}

}  // namespace rhotrain
