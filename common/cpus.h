// How many CPUs this process may actually use: the cores its affinity mask allows, capped by a cgroup CPU quota (what
// Slurm, containers and `taskset` give a job), rather than the machine's core count.
#pragma once
#include <string>

namespace rhotrain {

struct UsableCpus {
  int count = 1;
  std::string why;  // e.g. "2 cores in the affinity mask" or "a cgroup quota of 1.5 CPUs (4 cores in the mask)"
};

UsableCpus usable_cpus();

}  // namespace rhotrain
