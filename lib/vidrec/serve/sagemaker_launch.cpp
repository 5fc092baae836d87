// SPDX-License-Identifier: MIT
#include "vidrec/serve/sagemaker_launch.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "vidrec/base/errors.hpp"

extern char** environ;

namespace vidrec {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr size_t kTailBytes = 4096;

enum class Stdout { Inherit, Discard };
enum class Stderr { Inherit, Capture, Tee };

void write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;  // our stderr is gone: nothing left to tell
    p += w;
    n -= size_t(w);
  }
}

// Runs argv to its end and returns its exit status (128 + N for signal N);
// `tail` gets the end of its stderr unless that is inherited.
int run_process(const std::vector<std::string>& argv, Stdout out, Stderr err, std::string* tail) {
  int fds[2] = {-1, -1};
  if (err != Stderr::Inherit && ::pipe2(fds, O_CLOEXEC) != 0) throw IoError(sys_error("pipe", argv[0]));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (err != Stderr::Inherit) posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  if (out == Stdout::Discard) posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv[0].c_str(), &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (fds[1] >= 0) ::close(fds[1]);
  if (rc != 0) {
    if (fds[0] >= 0) ::close(fds[0]);
    errno = rc;
    throw IoError(sys_error("cannot start", argv[0]));
  }
  if (fds[0] >= 0) {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (err == Stderr::Tee) write_all(2, buf, size_t(n));
      tail->append(buf, size_t(n));
      if (tail->size() > 2 * kTailBytes) tail->erase(0, tail->size() - kTailBytes);
    }
    ::close(fds[0]);
    if (tail->size() > kTailBytes) tail->erase(0, tail->size() - kTailBytes);
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) throw IoError(sys_error("waitpid", argv[0]));
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

std::string last_line(const std::string& text) {
  std::string s = text;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  const size_t nl = s.rfind('\n');
  s = nl == std::string::npos ? s : s.substr(nl + 1);
  return s.empty() ? "no message" : s;
}

// Whether `host` runs `true` for us over ssh; `complaint` gets ssh's stderr.
bool answers_ssh(const std::string& ssh, const std::string& host, std::string* complaint) {
  complaint->clear();
  return run_process({ssh, "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", host, "true"}, Stdout::Discard,
                     Stderr::Capture, complaint) == 0;
}

bool orted_running() {
  std::error_code ec;
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string pid = it->path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream comm(it->path() / "comm");
    std::string name;
    if (std::getline(comm, name) && name == "orted") return true;
  }
  return false;
}

}  // namespace

void start_sshd(const std::string& sshd) {
  const int st = run_process({sshd}, Stdout::Inherit, Stderr::Inherit, nullptr);
  if (st != 0)
    throw IoError(sshd + ": exited with status " + std::to_string(st) + " (ssh between hosts needs it)");
}

void wait_for_ssh(const std::vector<std::string>& hosts, const std::string& ssh, unsigned seconds) {
  const auto deadline = Clock::now() + std::chrono::seconds(seconds);
  std::string complaint;
  for (const std::string& host : hosts) {
    while (!answers_ssh(ssh, host, &complaint)) {
      if (Clock::now() >= deadline)
        throw IoError("worker " + host + " does not accept ssh after " + std::to_string(seconds) +
                      " s (mpi_wait_seconds): " + last_line(complaint));
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
}

JobResult run_job(const std::vector<std::string>& argv) {
  JobResult r;
  r.status = run_process(argv, Stdout::Inherit, Stderr::Tee, &r.stderr_tail);
  return r;
}

JobEnd wait_for_job_end(const std::string& current_host, const std::string& leader, const std::string& ssh,
                        unsigned seconds) {
  const auto deadline = Clock::now() + std::chrono::seconds(seconds);
  auto next_probe = Clock::now();
  bool seen_orted = false, leader_answered = false;
  std::string complaint;
  for (;;) {
    if (orted_running()) {
      seen_orted = true;
    } else if (seen_orted) {
      return JobEnd::OrtedGone;
    } else {
      // ssh costs a process and a handshake: ask the leader every 10 s.
      if (Clock::now() >= next_probe) {
        if (answers_ssh(ssh, leader, &complaint))
          leader_answered = true;
        else if (leader_answered)
          return JobEnd::LeaderGone;
        next_probe = Clock::now() + std::chrono::seconds(10);
      }
      if (Clock::now() >= deadline)
        throw IoError(current_host + ": no MPI job reached this host within " + std::to_string(seconds) +
                      " s (mpi_wait_seconds; leader " + leader + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

}  // namespace vidrec
