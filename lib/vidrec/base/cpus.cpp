// SPDX-License-Identifier: MIT
#include "vidrec/base/cpus.hpp"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace vidrec {

namespace {

// The file's whitespace-separated words; empty when it cannot be read.
std::vector<std::string> words(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

bool parse_positive(const std::string& s, uint64_t& out) {
  const char* end = s.data() + s.size();
  const auto r = std::from_chars(s.data(), end, out);
  return r.ec == std::errc() && r.ptr == end && out > 0;
}

unsigned quota_cpus(const std::string& quota, const std::string& period) {
  uint64_t q = 0, p = 0;
  if (!parse_positive(quota, q) || !parse_positive(period, p)) return 0;
  return unsigned(std::min<uint64_t>(q / p + (q % p != 0), UINT_MAX));
}

unsigned affinity_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return unsigned(CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());  // more CPUs than cpu_set_t holds
}

}  // namespace

unsigned cgroup_cpu_quota(const std::string& root) {
  const std::vector<std::string> v2 = words(root + "/cpu.max");
  if (!v2.empty()) return v2.size() == 2 ? quota_cpus(v2[0], v2[1]) : 0;  // "max 100000": 0
  const std::vector<std::string> quota = words(root + "/cpu/cpu.cfs_quota_us");
  const std::vector<std::string> period = words(root + "/cpu/cpu.cfs_period_us");
  if (quota.size() != 1 || period.size() != 1) return 0;
  return quota_cpus(quota[0], period[0]);  // "-1": 0
}

unsigned available_cpus() {
  static const unsigned n = [] {
    const unsigned affinity = affinity_cpus();
    const unsigned quota = cgroup_cpu_quota("/sys/fs/cgroup");
    return quota == 0 ? affinity : std::min(affinity, quota);
  }();
  return n;
}

}  // namespace vidrec
