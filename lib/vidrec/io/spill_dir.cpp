// SPDX-License-Identifier: MIT
#include "vidrec/io/spill_dir.hpp"

#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "vidrec/base/errors.hpp"

namespace vidrec {

namespace {

// What the handler reads: written before it is installed (the directory) or
// before each file is created (the count), so it never misses a file.
char g_dir[PATH_MAX];
volatile sig_atomic_t g_files = 0;
volatile sig_atomic_t g_active = 0;
struct sigaction g_old_int, g_old_term;

// g_dir + "/" + n, without allocating (snprintf is not async-signal-safe).
void file_path(char* out, long n) {
  size_t len = std::strlen(g_dir);
  std::memcpy(out, g_dir, len);
  out[len++] = '/';
  char digits[24];
  int d = 0;
  do {
    digits[d++] = char('0' + n % 10);
    n /= 10;
  } while (n > 0);
  while (d > 0) out[len++] = digits[--d];
  out[len] = '\0';
}

void remove_all() {
  char path[PATH_MAX + 32];
  for (long i = 0; i < g_files; ++i) {
    file_path(path, i);
    ::unlink(path);
  }
  ::rmdir(g_dir);
}

void on_signal(int sig) {
  if (g_active) remove_all();
  g_active = 0;
  ::sigaction(sig, sig == SIGINT ? &g_old_int : &g_old_term, nullptr);
  ::raise(sig);  // delivered once the handler returns, with the old disposition
}

}  // namespace

SpillDir::SpillDir(const std::string& parent) {
  if (g_active) throw std::logic_error("SpillDir: one at a time");
  std::string templ = parent + "/vidrec-spill.XXXXXX";
  if (templ.size() + 24 >= sizeof g_dir) throw IoError(parent + ": temporary directory path too long");
  if (!::mkdtemp(templ.data())) throw IoError(sys_error("cannot create a temporary directory", parent));
  path_ = templ;
  std::memcpy(g_dir, path_.c_str(), path_.size() + 1);
  g_files = 0;
  g_active = 1;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  // A signal the caller ignores (nohup, `cmd &` in a script) stays ignored.
  ::sigaction(SIGINT, &sa, &g_old_int);
  if (g_old_int.sa_handler == SIG_IGN) ::sigaction(SIGINT, &g_old_int, nullptr);
  ::sigaction(SIGTERM, &sa, &g_old_term);
  if (g_old_term.sa_handler == SIG_IGN) ::sigaction(SIGTERM, &g_old_term, nullptr);
}

SpillDir::~SpillDir() {
  ::sigaction(SIGINT, &g_old_int, nullptr);
  ::sigaction(SIGTERM, &g_old_term, nullptr);
  remove_all();
  g_active = 0;
}

std::string SpillDir::next_file() {
  char path[PATH_MAX + 32];
  const long n = g_files;
  g_files = sig_atomic_t(n + 1);  // counted before it exists: the handler never misses it
  file_path(path, n);
  return path;
}

std::string default_tmp_dir() {
  const char* t = std::getenv("TMPDIR");
  return t && *t ? t : "/tmp";
}

}  // namespace vidrec
