// SPDX-License-Identifier: MIT
#include "vidrec/io/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "vidrec/base/errors.hpp"

namespace vidrec {

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) {
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->name_ = path;
  int fd = path == "-" ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(sys_error("cannot open", path));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    if (fd != STDIN_FILENO) ::close(fd);
    throw IoError(sys_error("cannot stat", path));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw IoError(path + ": is a directory");
  }
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    void* p = ::mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
    if (fd != STDIN_FILENO) ::close(fd);
    if (p == MAP_FAILED) throw IoError(sys_error("cannot map", path));
    f->data_ = static_cast<const char*>(p);
    f->size_ = size_t(st.st_size);
    f->mapped_ = true;
    return f;
  }
  char chunk[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (fd != STDIN_FILENO) ::close(fd);
      throw IoError(sys_error("read failed", path));
    }
    if (n == 0) break;
    f->owned_.insert(f->owned_.end(), chunk, chunk + n);
  }
  if (fd != STDIN_FILENO) ::close(fd);
  f->data_ = f->owned_.data();
  f->size_ = f->owned_.size();
  return f;
}

std::shared_ptr<const MappedFile> MappedFile::copy(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(sys_error("cannot open", path));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw IoError(sys_error("cannot stat", path));
  if (!S_ISREG(st.st_mode)) throw IoError(path + ": not a regular file");
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->name_ = path;
  const size_t size = size_t(st.st_size);
  if (size == 0) return f;
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw IoError(sys_error("cannot allocate memory for", path));
  f->data_ = static_cast<const char*>(p);
  f->size_ = size;
  f->mapped_ = true;  // from here the destructor unmaps it
  char* out = static_cast<char*>(p);
  for (size_t done = 0; done <= size;) {
    char extra;  // one byte past the size, to see a file that grew
    const ssize_t n = done < size ? ::read(fd, out + done, size - done) : ::read(fd, &extra, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw IoError(sys_error("read failed", path));
    if (n == 0 && done == size) break;
    if (n == 0 || done == size) throw IoError(path + ": changed while being read (replace files by rename)");
    done += size_t(n);
  }
  ::mprotect(p, size, PROT_READ);
  return f;
}

std::shared_ptr<const MappedFile> MappedFile::from_bytes(std::string name, std::vector<char> bytes) {
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->name_ = std::move(name);
  f->owned_ = std::move(bytes);
  f->data_ = f->owned_.data();
  f->size_ = f->owned_.size();
  return f;
}

MappedFile::~MappedFile() {
  if (mapped_) ::munmap(const_cast<char*>(data_), size_);
}

}  // namespace vidrec
