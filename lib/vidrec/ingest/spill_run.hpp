// SPDX-License-Identifier: MIT
// The sorted runs of a spilling aggregation (spill.hpp): files of pair
// records in (user id, video id) byte order, and their k-way merge.
//
// Contract
// - A run is a sequence of records: u32 user length, u32 video length,
//   u32 events, f64 weight hi, f64 weight lo (the exact sum, base/exact_sum.hpp),
//   i64 first, i64 last, then the two ids' bytes (native byte order: runs
//   never leave the machine or the run).
// - Every read and write error is an IoError naming the file (a full disk:
//   "write failed: No space left on device"); a run shorter than its
//   records is an IoError too.
// - merge_runs() hands each distinct (user, video) once, in byte order, its
//   sums combined over the runs (the weight exactly, so the order of the runs
//   does not change it).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "vidrec/base/exact_sum.hpp"

namespace vidrec {

// A file written sequentially through a buffer.
class SpillWriter {
 public:
  SpillWriter(std::string path, size_t buffer);
  ~SpillWriter();
  SpillWriter(const SpillWriter&) = delete;
  SpillWriter& operator=(const SpillWriter&) = delete;
  void write(const void* data, size_t size);
  void close();  // flushes; errors thrown here, not lost in the destructor
  uint64_t bytes() const { return bytes_; }
  const std::string& path() const { return path_; }

 private:
  void flush();
  std::string path_;
  int fd_ = -1;
  std::vector<char> buf_;
  size_t used_ = 0;
  uint64_t bytes_ = 0;
};

// A file read sequentially through a buffer.
class SpillReader {
 public:
  SpillReader(std::string path, size_t buffer);
  ~SpillReader();
  SpillReader(const SpillReader&) = delete;
  SpillReader& operator=(const SpillReader&) = delete;
  // Fills `size` bytes; false at the end of the file when none were left.
  bool read(void* data, size_t size);
  uint64_t bytes() const { return bytes_; }  // consumed so far
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<char> buf_;
  size_t at_ = 0, end_ = 0;
  uint64_t bytes_ = 0;
};

struct RunRecord {
  std::string user, video;
  ExactSum weight;
  uint32_t events = 0;
  int64_t first = 0, last = 0;
};

void write_record(SpillWriter& out, std::string_view user, std::string_view video, const ExactSum& weight,
                  uint32_t events, int64_t first, int64_t last);
bool read_record(SpillReader& in, RunRecord& r);

// `done` reports the bytes read from the runs so far (progress).
void merge_runs(const std::vector<std::string>& runs, size_t buffer,
                const std::function<void(const RunRecord&)>& out, const std::function<void(uint64_t)>& done);

}  // namespace vidrec
