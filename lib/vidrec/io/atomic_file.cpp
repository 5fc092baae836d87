// SPDX-License-Identifier: MIT
#include "vidrec/io/atomic_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "vidrec/base/errors.hpp"
#include "vidrec/io/paths.hpp"

namespace vidrec {

namespace {

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

void write_all(int fd, const char* p, size_t left, const std::string& name) {
  while (left > 0) {
    const ssize_t n = ::write(fd, p, std::min<size_t>(left, size_t(1) << 30));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw IoError(sys_error("write failed", name));
    p += n;
    left -= size_t(n);
  }
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  buffer_.reserve(1 << 20);
  if (path_ == "-") {
    to_stdout_ = true;
    fd_ = STDOUT_FILENO;
    return;
  }
  // Through a symbolic link, the target is replaced and the link kept.
  target_ = resolve_output(path_);
  temp_ = target_ + ".tmp.XXXXXX";
  fd_ = ::mkstemp(temp_.data());
  if (fd_ < 0) throw IoError(sys_error("cannot create temporary file", temp_));
  ::fchmod(fd_, 0644);
}

AtomicFile::~AtomicFile() {
  if (!to_stdout_ && fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_.c_str());
  }
}

void AtomicFile::flush_buffer() {
  write_all(fd_, buffer_.data(), buffer_.size(), to_stdout_ ? "<stdout>" : temp_);
  buffer_.clear();
}

void AtomicFile::write(const void* data, size_t size) {
  if (fd_ < 0) throw IoError(path_ + ": write after commit");
  const char* p = static_cast<const char*>(data);
  if (size >= buffer_.capacity()) {  // large sections go straight from the caller's memory
    flush_buffer();
    write_all(fd_, p, size, to_stdout_ ? "<stdout>" : temp_);
#if defined(__linux__)
    // Start writing back what is written so far, so commit()'s fsync waits
    // only for the tail (a hint: errors surface at the fsync).
    if (!to_stdout_) ::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
    return;
  }
  if (buffer_.size() + size > buffer_.capacity()) flush_buffer();
  buffer_.insert(buffer_.end(), p, p + size);
}

void AtomicFile::pwrite(uint64_t offset, const void* data, size_t size) {
  if (fd_ < 0) throw IoError(path_ + ": write after commit");
  if (to_stdout_) throw std::logic_error("AtomicFile::pwrite on stdout");
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::pwrite(fd_, p, std::min<size_t>(size, size_t(1) << 30), off_t(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw IoError(sys_error("write failed", temp_));
    p += n;
    offset += uint64_t(n);
    size -= size_t(n);
    unsynced_ += uint64_t(n);
  }
#if defined(__linux__)
  // Many small writes (a streamed container): writeback starts every few
  // MiB, as write() starts it after a large one, so commit()'s fsync waits
  // only for the tail.
  if (unsynced_ >= kWritebackBytes) {
    ::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE);
    unsynced_ = 0;
  }
#endif
}

void AtomicFile::commit() {
  flush_buffer();
  if (to_stdout_) {
    fd_ = -1;
    return;
  }
  if (::fsync(fd_) != 0) throw IoError(sys_error("fsync failed", temp_));
  if (::close(fd_) != 0) {
    fd_ = -1;
    ::unlink(temp_.c_str());
    throw IoError(sys_error("close failed", temp_));
  }
  fd_ = -1;
  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    std::string msg = sys_error("cannot rename " + temp_ + " into place", target_);
    ::unlink(temp_.c_str());
    throw IoError(msg);
  }
  // Make the rename itself durable.
  int dfd = ::open(dir_of(target_).c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

OutputLock::OutputLock(const std::string& output) {
  if (output == "-") return;
  // The lock sits beside the file that is replaced, so writers through a
  // symbolic link and through its target take the same lock.
  const std::string target = resolve_output(output);
  const std::string path = target + ".lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw IoError(sys_error("cannot create lock file", path));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {};
    const ssize_t n = ::pread(fd_, pid, sizeof pid - 1, 0);
    ::close(fd_);
    fd_ = -1;
    throw IoError("another vidrec is writing " + output + " (lock " + path + " held" +
                  (n > 0 ? " by pid " + std::string(pid, size_t(n)) : std::string()) + "); not starting");
  }
  const std::string me = std::to_string(::getpid());
  if (::ftruncate(fd_, 0) == 0) (void)!::pwrite(fd_, me.data(), me.size(), 0);

  const std::string dir = dir_of(target);
  const std::string prefix =
      target.substr(target.rfind('/') == std::string::npos ? 0 : target.rfind('/') + 1) + ".tmp.";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d))
      if (std::strncmp(e->d_name, prefix.c_str(), prefix.size()) == 0) ::unlinkat(::dirfd(d), e->d_name, 0);
    ::closedir(d);
  }
}

AtomicOstream::Buf::int_type AtomicOstream::Buf::overflow(int_type c) {
  if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
  const char ch = traits_type::to_char_type(c);
  file_.write(&ch, 1);
  return c;
}

std::streamsize AtomicOstream::Buf::xsputn(const char* s, std::streamsize n) {
  file_.write(s, size_t(n));
  return n;
}

AtomicOstream::AtomicOstream(AtomicFile& file) : std::ostream(nullptr), buf_(file) {
  rdbuf(&buf_);
  exceptions(std::ios::badbit);  // AtomicFile's IoError, with its reason, reaches the caller
}

OutputLock::~OutputLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace vidrec
