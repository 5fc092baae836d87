// SPDX-License-Identifier: MIT
// Process start-to-exit cost of whole commands, side by side: runs each
// command in turn (interleaved, so a slow spell of this shared machine hits
// all of them alike) with stdout/stderr to /dev/null, and prints per command
// the median wall time, the median CPU time (user + system, all threads: on
// a loaded machine the steadier figure) and the median minor page faults.
// Usage: start_bench [--runs N] -- CMD1 ARGS ;; CMD2 ARGS ;; ...
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

extern char** environ;

namespace {

struct Sample {
  double wall_ms, cpu_ms, faults;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

Sample run(const std::vector<std::string>& cmd) {
  std::vector<char*> argv;
  for (const std::string& a : cmd) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = 0;
  if (posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) {
    std::fprintf(stderr, "start_bench: cannot run %s\n", argv[0]);
    std::exit(1);
  }
  posix_spawn_file_actions_destroy(&fa);
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  const auto t1 = std::chrono::steady_clock::now();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "start_bench: %s failed\n", argv[0]);
    std::exit(1);
  }
  const auto ms = [](const timeval& t) { return double(t.tv_sec) * 1e3 + double(t.tv_usec) / 1e3; };
  return {std::chrono::duration<double, std::milli>(t1 - t0).count(), ms(ru.ru_utime) + ms(ru.ru_stime),
          double(ru.ru_minflt)};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"start_bench: median start-to-exit time of commands, interleaved"};
  int runs = 31;
  std::vector<std::string> words;
  app.add_option("--runs", runs, "runs of each command")->check(CLI::PositiveNumber);
  app.add_option("commands", words, "CMD ARGS ;; CMD ARGS ...")->required();
  CLI11_PARSE(app, argc, argv);
  std::vector<std::vector<std::string>> cmds(1);
  for (const std::string& w : words) {
    if (w == ";;")
      cmds.emplace_back();
    else
      cmds.back().push_back(w);
  }
  cmds.erase(std::remove_if(cmds.begin(), cmds.end(), [](const auto& c) { return c.empty(); }), cmds.end());
  for (const auto& c : cmds) run(c);  // warm the page cache
  std::vector<std::vector<Sample>> samples(cmds.size());
  for (int r = 0; r < runs; ++r)
    for (size_t i = 0; i < cmds.size(); ++i) samples[i].push_back(run(cmds[i]));
  for (size_t i = 0; i < cmds.size(); ++i) {
    std::vector<double> wall, cpu, faults;
    for (const Sample& s : samples[i]) {
      wall.push_back(s.wall_ms);
      cpu.push_back(s.cpu_ms);
      faults.push_back(s.faults);
    }
    std::string name;
    for (const std::string& a : cmds[i]) name += (name.empty() ? "" : " ") + a;
    std::printf("%-60s wall %7.2f ms  cpu %7.2f ms  minor faults %5.0f  (median of %d)\n", name.c_str(),
                median(wall), median(cpu), median(faults), runs);
  }
}
