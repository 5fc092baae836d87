// SPDX-License-Identifier: MIT
// How many CPUs this process may keep busy, for `--threads 0`.
//
// Contract
// - available_cpus() is the fewer of the CPUs in the process's affinity mask
//   (taskset, docker --cpuset-cpus) and its cgroup CPU quota rounded up
//   (docker --cpus=1.5 -> 2, Kubernetes CPU limits); hardware_concurrency()
//   sees neither. Always >= 1; computed once per process.
// - cgroup_cpu_quota(root) reads the quota of the cgroup mounted at root
//   (/sys/fs/cgroup in a container): cgroup v2's root/cpu.max ("QUOTA PERIOD",
//   QUOTA "max" = none), else v1's root/cpu/cpu.cfs_quota_us and
//   cpu.cfs_period_us (quota -1 = none). Returns ceil(quota / period), or 0
//   for no quota. Missing, unreadable or malformed files also give 0: the
//   thread count is a sizing hint, never a reason to fail a command.
#pragma once
#include <string>

namespace vidrec {

unsigned cgroup_cpu_quota(const std::string& root);
unsigned available_cpus();

}  // namespace vidrec
