// SPDX-License-Identifier: MIT
#include "vidrec/io/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "vidrec/base/errors.hpp"
#include "vidrec/io/paths.hpp"

namespace vidrec {

namespace {

uint64_t physical_memory() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : uint64_t(1) << 34;
}

// Appends up to `limit` - out.size() bytes; false at the end of input.
bool read_up_to(int fd, std::vector<char>& out, uint64_t limit, const std::string& name) {
  char chunk[1 << 16];
  while (out.size() < limit) {
    const ssize_t n = ::read(fd, chunk, size_t(std::min<uint64_t>(sizeof chunk, limit - out.size())));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw IoError(sys_error("read failed", name));
    if (n == 0) return false;
    out.insert(out.end(), chunk, chunk + n);
  }
  return true;
}

}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path, size_t head_size,
                                                   DeclaredSize declared) {
  std::shared_ptr<MappedFile> f(new MappedFile());
  f->name_ = path;
  const bool is_stdin = path == "-";
  const int fd = is_stdin ? STDIN_FILENO : open_regular(path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const std::string msg = sys_error("cannot stat", path);
    if (!is_stdin) ::close(fd);
    throw IoError(msg);
  }
  if (S_ISDIR(st.st_mode)) throw IoError(path + ": not a regular file (a directory)");
  if (S_ISREG(st.st_mode)) {
    if (st.st_size > 0) {
      void* p = ::mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
      if (!is_stdin) ::close(fd);
      if (p == MAP_FAILED) throw IoError(sys_error("cannot map", path));
      f->data_ = static_cast<const char*>(p);
      f->size_ = size_t(st.st_size);
      f->mapped_ = true;
    } else if (!is_stdin) {
      ::close(fd);
    }
    return f;
  }
  // Only stdin gets here (open_regular refused the rest): a pipe, held in
  // memory, so it is read only as far as its data says it reaches.
  const uint64_t memory = physical_memory();
  uint64_t limit = memory;
  if (declared) {
    read_up_to(fd, f->owned_, head_size, path);
    const uint64_t want = declared(f->owned_.data(), f->owned_.size());
    if (want > memory)
      throw IoError(path + ": declares " + std::to_string(want) + " bytes, more than this machine's memory (" +
                    std::to_string(memory) + ")");
    limit = std::max<uint64_t>(want, f->owned_.size()) + 1;
  }
  if (read_up_to(fd, f->owned_, limit, path) && !declared)
    throw IoError(path + ": more than " + std::to_string(memory) + " bytes, this machine's memory; not read");
  f->data_ = f->owned_.data();
  f->size_ = f->owned_.size();
  return f;
}

std::shared_ptr<const MappedFile> MappedFile::copy(const std::string& path) {
  const int fd = open_regular(path);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw IoError(sys_error("cannot stat", path));
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
