// SPDX-License-Identifier: MIT
// How vidrec replaces a file: never in place. A writer fills a temporary
// beside the target and renames it over the target only once it is complete
// and durable, and one lock per output keeps two writers apart, so a crash, a
// kill -9 or a full disk leaves the previous file intact for cron and serve.
#pragma once
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <streambuf>
#include <string>
#include <vector>

namespace vidrec {

// Writes to a temporary file beside `path`, and only commit() (fsync, rename,
// fsync of the directory) makes it visible under `path`. Destroyed without
// commit() -- an exception, a failed write -- the temporary is removed and
// whatever was at `path` before is untouched. `path` "-" writes to stdout.
// A `path` that is a symbolic link (or a chain of them) keeps being one: the
// file it ends at is what is replaced (io/paths.hpp, resolve_output).
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);
  // Writes at `offset` of the temporary, apart from write()'s position; only
  // where seekable(), i.e. not to stdout.
  void pwrite(uint64_t offset, const void* data, size_t size);
  bool seekable() const { return !to_stdout_; }
  void commit();
  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_; }

 private:
  void flush_buffer();
  std::string path_, target_, temp_;
  int fd_ = -1;
  bool to_stdout_ = false;
  std::vector<char> buffer_;
  static constexpr uint64_t kWritebackBytes = uint64_t(16) << 20;
  uint64_t unsynced_ = 0;  // bytes pwritten since writeback was last started
};

// Text streamed into an AtomicFile (prepare's rejects): bytes go through the
// file's buffer to its temporary, so a large stream is not held in memory.
// Errors throw the AtomicFile's IoError. Commit the AtomicFile when done.
class AtomicOstream : public std::ostream {
 public:
  explicit AtomicOstream(AtomicFile& file);

 private:
  struct Buf : std::streambuf {
    explicit Buf(AtomicFile& f) : file_(f) {}
    int_type overflow(int_type c) override;
    std::streamsize xsputn(const char* s, std::streamsize n) override;
    AtomicFile& file_;
  };
  Buf buf_;
};

// One writer per output file: an exclusive flock on OUTPUT.lock, held for the
// object's lifetime and released by the kernel even on kill -9. Holding it
// proves no other vidrec is writing OUTPUT, so temporaries left by a killed
// writer (OUTPUT.tmp.*) are removed on acquisition. A second writer gets an
// IoError naming the lock and the holder's pid. No-op for "-". For a symbolic
// link OUTPUT the lock is TARGET.lock, beside the file that is replaced.
class OutputLock {
 public:
  explicit OutputLock(const std::string& output);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace vidrec
