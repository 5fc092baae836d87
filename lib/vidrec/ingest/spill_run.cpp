// SPDX-License-Identifier: MIT
#include "vidrec/ingest/spill_run.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <queue>
#include <utility>

#include "vidrec/base/errors.hpp"

namespace vidrec {

SpillWriter::SpillWriter(std::string path, size_t buffer) : path_(std::move(path)), buf_(buffer) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd_ < 0) throw IoError(sys_error("cannot create", path_));
}

SpillWriter::~SpillWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void SpillWriter::write(const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  bytes_ += size;
  while (size > 0) {
    if (used_ == buf_.size()) flush();
    const size_t n = std::min(size, buf_.size() - used_);
    std::memcpy(buf_.data() + used_, p, n);
    used_ += n;
    p += n;
    size -= n;
  }
}

void SpillWriter::flush() {
  for (size_t at = 0; at < used_;) {
    const ssize_t n = ::write(fd_, buf_.data() + at, used_ - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw IoError(sys_error("write failed", path_));
    at += size_t(n);
  }
  used_ = 0;
}

void SpillWriter::close() {
  flush();
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) throw IoError(sys_error("write failed", path_));
}

SpillReader::SpillReader(std::string path, size_t buffer) : path_(std::move(path)), buf_(buffer) {
  fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw IoError(sys_error("cannot open", path_));
}

SpillReader::~SpillReader() { ::close(fd_); }

bool SpillReader::read(void* data, size_t size) {
  char* p = static_cast<char*>(data);
  const size_t want = size;
  while (size > 0) {
    if (at_ == end_) {
      const ssize_t n = ::read(fd_, buf_.data(), buf_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw IoError(sys_error("read failed", path_));
      if (n == 0) {
        if (size == want) return false;
        throw IoError(path_ + ": temporary run truncated");
      }
      at_ = 0;
      end_ = size_t(n);
    }
    const size_t n = std::min(size, end_ - at_);
    std::memcpy(p, buf_.data() + at_, n);
    at_ += n;
    p += n;
    size -= n;
  }
  bytes_ += want;
  return true;
}

namespace {
struct Head {
  uint32_t user_len, video_len, events;
  double hi, lo;
  int64_t first, last;
} __attribute__((packed));
static_assert(sizeof(Head) == 44);
}  // namespace

void write_record(SpillWriter& out, std::string_view user, std::string_view video, const ExactSum& weight,
                  uint32_t events, int64_t first, int64_t last) {
  const Head h{uint32_t(user.size()), uint32_t(video.size()), events, weight.hi, weight.lo, first, last};
  out.write(&h, sizeof h);
  out.write(user.data(), user.size());
  out.write(video.data(), video.size());
}

bool read_record(SpillReader& in, RunRecord& r) {
  Head h;
  if (!in.read(&h, sizeof h)) return false;
  r.user.resize(h.user_len);
  r.video.resize(h.video_len);
  if (!in.read(r.user.data(), h.user_len) || !in.read(r.video.data(), h.video_len))
    throw IoError(in.path() + ": temporary run truncated");
  r.weight = {h.hi, h.lo};
  r.events = h.events;
  r.first = h.first;
  r.last = h.last;
  return true;
}

void merge_runs(const std::vector<std::string>& runs, size_t buffer,
                const std::function<void(const RunRecord&)>& out, const std::function<void(uint64_t)>& done) {
  std::vector<std::unique_ptr<SpillReader>> in;
  std::vector<RunRecord> head(runs.size());
  for (const std::string& r : runs) in.push_back(std::make_unique<SpillReader>(r, buffer));
  auto later = [&head](size_t a, size_t b) {
    const int u = head[a].user.compare(head[b].user);
    return u != 0 ? u > 0 : head[a].video.compare(head[b].video) > 0;
  };
  std::priority_queue<size_t, std::vector<size_t>, decltype(later)> heap(later);
  for (size_t i = 0; i < runs.size(); ++i)
    if (read_record(*in[i], head[i])) heap.push(i);
  RunRecord acc;
  uint64_t merged = 0;
  while (!heap.empty()) {
    size_t i = heap.top();
    heap.pop();
    acc = head[i];
    for (;;) {
      if (read_record(*in[i], head[i])) heap.push(i);
      if (heap.empty()) break;
      i = heap.top();
      if (head[i].user != acc.user || head[i].video != acc.video) break;
      heap.pop();
      acc.weight.add(head[i].weight);
      acc.events += head[i].events;
      acc.first = std::min(acc.first, head[i].first);
      acc.last = std::max(acc.last, head[i].last);
    }
    out(acc);
    if ((++merged & 0xffff) == 0) {
      uint64_t bytes = 0;
      for (const auto& r : in) bytes += r->bytes();
      done(bytes);
    }
  }
}

}  // namespace vidrec
