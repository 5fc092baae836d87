// SPDX-License-Identifier: MIT
// How vidrec reads its files: the whole file as read-only bytes, mapped so
// that opening costs nothing until a page is touched.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace vidrec {

// Read-only bytes of a whole file: memory-mapped for regular files, read into
// memory for pipes ("-" is stdin). Also wraps an in-memory buffer for tests.
class MappedFile {
 public:
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  // A private copy of a regular file, in memory of its own: unlike a mapping,
  // nothing another process does to the file (truncate, rewrite in place)
  // can change it or fault it (SIGBUS). A file that changes size while it is
  // read is an IoError. For a server that must keep its model whatever
  // happens on disk.
  static std::shared_ptr<const MappedFile> copy(const std::string& path);
  static std::shared_ptr<const MappedFile> from_bytes(std::string name, std::vector<char> bytes);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const char* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& name() const { return name_; }

 private:
  MappedFile() = default;
  std::string name_;
  const char* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;  // data_ is ours to munmap (a file mapping or copy()'s memory)
  std::vector<char> owned_;
};

}  // namespace vidrec
