// SPDX-License-Identifier: MIT
#include "vidrec/io/spill_dir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/syscall.h>
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
int g_dir_fd = -1;  // the directory, open, to list what is left in it
volatile sig_atomic_t g_files = 0;
volatile sig_atomic_t g_active = 0;
struct sigaction g_old_int, g_old_term;
alignas(dirent64) char g_entries[4096];  // the handler's buffer: it must not allocate

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
  // Whatever else is left: a writer's temporary beside a numbered file
  // (AtomicFile's N.tmp.XXXXXX), cut short by the signal. getdents64 is a
  // plain system call, unlike readdir, so the handler may use it.
  // Unlinking while listing may skip entries, so list again until a pass
  // finds nothing to remove ("." and ".." stay).
  for (bool removed = true; removed;) {
    removed = false;
    ::lseek(g_dir_fd, 0, SEEK_SET);
    for (long n; (n = ::syscall(SYS_getdents64, g_dir_fd, g_entries, sizeof g_entries)) > 0;)
      for (long at = 0; at < n; at += reinterpret_cast<dirent64*>(g_entries + at)->d_reclen) {
        const char* name = reinterpret_cast<dirent64*>(g_entries + at)->d_name;
        if (std::strcmp(name, ".") != 0 && std::strcmp(name, "..") != 0)
          removed |= ::unlinkat(g_dir_fd, name, 0) == 0;
      }
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
  g_dir_fd = ::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (g_dir_fd < 0) {
    const IoError e(sys_error("cannot open the temporary directory", path_));
    ::rmdir(path_.c_str());
    throw e;
  }
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
  ::close(g_dir_fd);
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
