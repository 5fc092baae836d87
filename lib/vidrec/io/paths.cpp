// SPDX-License-Identifier: MIT
#include "vidrec/io/paths.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

#include "vidrec/base/errors.hpp"

namespace vidrec {

namespace {

std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string real(const std::string& path) {
  char* r = ::realpath(path.c_str(), nullptr);
  if (!r) return {};
  std::string s = r;
  std::free(r);
  return s;
}

// One spelling per file, for comparing paths: the realpath of an existing
// file, else of its directory plus the name, else the path as given.
std::string canonical(const std::string& path) {
  std::string r = real(path);
  if (!r.empty()) return r;
  r = real(dir_of(path));
  if (r.empty()) return path;
  return (r == "/" ? "" : r) + "/" + base_of(path);
}

struct Identity {
  bool exists = false;
  struct stat st {};
  std::string canon;
};

Identity identify(const std::string& path) {
  Identity id;
  id.exists = ::stat(path.c_str(), &id.st) == 0;
  id.canon = canonical(id.exists ? path : resolve_output(path));
  return id;
}

bool same_file(const Identity& a, const Identity& b) {
  if (a.exists && b.exists) return a.st.st_dev == b.st.st_dev && a.st.st_ino == b.st.st_ino;
  return a.canon == b.canon;
}

std::string show(const NamedPath& p) { return p.option.empty() ? p.path : p.option + " " + p.path; }

}  // namespace

std::string file_kind(unsigned mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a directory";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFIFO: return "a FIFO or pipe";
    case S_IFSOCK: return "a socket";
    case S_IFLNK: return "a symbolic link";
    default: return "not a file";
  }
}

std::string resolve_output(const std::string& path) {
  if (path == "-") return path;
  // Only the last component needs following: a lock file or temporary beside
  // a path through a linked directory is the same file as beside the real one.
  std::string p = path;
  for (int hops = 0;; ++hops) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) {
      if (errno != ENOENT) throw IoError(sys_error("cannot stat", p));
      return p;  // not there yet: the file to create
    }
    if (!S_ISLNK(st.st_mode)) return p;
    if (hops == 40) throw IoError(path + ": too many levels of symbolic links");
    char buf[PATH_MAX];
    const ssize_t n = ::readlink(p.c_str(), buf, sizeof buf);
    if (n < 0) throw IoError(sys_error("cannot read symbolic link", p));
    if (size_t(n) == sizeof buf) throw IoError(p + ": symbolic link target too long");
    const std::string target(buf, size_t(n));
    p = target.front() == '/' ? target : dir_of(p) + "/" + target;
  }
}

void check_outputs(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs) {
  const NamedPath* to_stdout = nullptr;
  for (const NamedPath& o : outputs) {
    if (o.path != "-") continue;
    if (to_stdout)
      throw ConfigError(show(*to_stdout) + " and " + show(o) +
                        " both write to stdout; at most one output may be '-'");
    to_stdout = &o;
  }
  std::vector<Identity> in_ids;
  for (const NamedPath& i : inputs) in_ids.push_back(i.path == "-" ? Identity{} : identify(i.path));
  std::vector<Identity> out_ids;
  for (const NamedPath& o : outputs) {
    out_ids.push_back(o.path == "-" ? Identity{} : identify(o.path));
    const Identity& id = out_ids.back();
    if (o.path == "-") continue;
    if (id.exists && !S_ISREG(id.st.st_mode))
      throw IoError(o.path + ": not a regular file (" + file_kind(id.st.st_mode) + "); " + show(o) +
                    " must name a regular file, which is replaced by rename");
    for (size_t k = 0; k < inputs.size(); ++k)
      if (inputs[k].path != "-" && same_file(id, in_ids[k]))
        throw ConfigError(show(o) + " names the input " + show(inputs[k]) +
                          "; writing it would destroy the input");
    for (size_t k = 0; k + 1 < out_ids.size(); ++k)
      if (outputs[k].path != "-" && same_file(id, out_ids[k]))
        throw ConfigError(show(o) + " and " + show(outputs[k]) + " name the same file");
  }
}

int open_regular(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw IoError(sys_error("cannot open", path));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const std::string msg = sys_error("cannot stat", path);
    ::close(fd);
    throw IoError(msg);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw IoError(path + ": not a regular file (" + file_kind(st.st_mode) + ")");
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

int open_streamable(const std::string& path) {
  if (path == "-") {
    const int fd = ::dup(STDIN_FILENO);
    if (fd < 0) throw IoError(sys_error("cannot open", "<stdin>"));
    return fd;
  }
  // Checked before opening: opening some devices has effects (a tape rewinds).
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode))
    throw IoError(path + ": not a regular file (" + file_kind(st.st_mode) + ")");
  // Blocking: a FIFO named here is read once its writer appears.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(sys_error("cannot open", path));
  if (::fstat(fd, &st) != 0 || (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode))) {
    ::close(fd);
    throw IoError(path + ": not a regular file (" + file_kind(st.st_mode) + ")");
  }
  return fd;
}

void require_regular_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw IoError(sys_error("cannot open", path));
  if (!S_ISREG(st.st_mode)) throw IoError(path + ": not a regular file (" + file_kind(st.st_mode) + ")");
}

}  // namespace vidrec
