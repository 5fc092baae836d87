// SPDX-License-Identifier: MIT
#include "vidrec/base/cpus.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

#include "test_util.hpp"

using vidrec::cgroup_cpu_quota;
using vidrec::test::TempDir;
using vidrec::test::write_text;

TEST_CASE("cgroup v2 cpu.max: quota rounded up, max and garbage are no quota", "[cpus]") {
  TempDir root;
  const std::string f = root.file("cpu.max");
  const std::pair<const char*, unsigned> cases[] = {
      {"200000 100000\n", 2},              // docker --cpus=2
      {"150000 100000\n", 2},              // --cpus=1.5 rounds up
      {"50000 100000\n", 1},               // half a CPU is still one thread
      {"100001 100000", 2},                // no newline
      {"max 100000\n", 0},                 // no quota
      {"max\n", 0},                        // kernels before 5.x print no period
      {"\n", 0},                           // empty
      {"abc 100000\n", 0},                 // garbage
      {"100000 0\n", 0},                   // period 0
      {"0 100000\n", 0},                   // quota 0
      {"-1 100000\n", 0},                  // negative
      {"100000 100000 7\n", 0},            // extra field
      {"1e5 100000\n", 0},                 // not an integer
      {"99999999999999999999999 1\n", 0},  // overflows uint64
  };
  for (const auto& [text, want] : cases) {
    write_text(f, text);
    INFO(text);
    CHECK(cgroup_cpu_quota(root.path().string()) == want);
  }
}

TEST_CASE("cgroup v1 cfs quota and period; missing files are no quota", "[cpus]") {
  TempDir root;
  const std::string r = root.path().string();
  CHECK(cgroup_cpu_quota(r) == 0);  // neither v1 nor v2 files
  CHECK(cgroup_cpu_quota(r + "/does-not-exist") == 0);
  std::filesystem::create_directory(root.file("cpu"));
  write_text(root.file("cpu/cpu.cfs_quota_us"), "300000\n");
  CHECK(cgroup_cpu_quota(r) == 0);  // period missing
  write_text(root.file("cpu/cpu.cfs_period_us"), "100000\n");
  CHECK(cgroup_cpu_quota(r) == 3);
  write_text(root.file("cpu/cpu.cfs_quota_us"), "250000\n");
  CHECK(cgroup_cpu_quota(r) == 3);
  write_text(root.file("cpu/cpu.cfs_quota_us"), "-1\n");  // no quota
  CHECK(cgroup_cpu_quota(r) == 0);
  write_text(root.file("cpu/cpu.cfs_quota_us"), "lots\n");
  CHECK(cgroup_cpu_quota(r) == 0);
  // v2 wins where both exist (hybrid hosts mount v1 controllers beside v2).
  write_text(root.file("cpu/cpu.cfs_quota_us"), "300000\n");
  write_text(root.file("cpu.max"), "100000 100000\n");
  CHECK(cgroup_cpu_quota(r) == 1);
}

TEST_CASE("available_cpus is at least one and at most the host's CPUs", "[cpus]") {
  const unsigned n = vidrec::available_cpus();
  CHECK(n >= 1);
  if (std::thread::hardware_concurrency() > 0) CHECK(n <= std::thread::hardware_concurrency());
}
