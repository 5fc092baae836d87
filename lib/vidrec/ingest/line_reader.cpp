// SPDX-License-Identifier: MIT
#include "vidrec/ingest/line_reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "vidrec/base/errors.hpp"
#include "vidrec/io/paths.hpp"

namespace vidrec {

namespace {

class GzipSource : public ByteSource {
 public:
  GzipSource(int fd, std::string name) : name_(std::move(name)) {
    gz_ = gzdopen(fd, "rb");
    if (!gz_) {
      ::close(fd);
      throw IoError(name_ + ": cannot open for reading");
    }
    gzbuffer(gz_, 1 << 18);
  }
  ~GzipSource() override { gzclose_r(gz_); }

  size_t read(char* buffer, size_t size) override {
    const int n = gzread(gz_, buffer, unsigned(std::min<size_t>(size, 1u << 30)));
    int err = Z_OK;
    const char* msg = gzerror(gz_, &err);
    if (n < 0 || (n == 0 && err != Z_OK)) {
      if (err == Z_ERRNO) throw IoError(name_ + ": read failed: " + std::strerror(errno));
      throw IoError(name_ + ": corrupt or truncated gzip data (" + msg + ")");
    }
    return size_t(n);
  }
  uint64_t offset() const override { return uint64_t(gzoffset(gz_)); }

 private:
  gzFile gz_;
  std::string name_;
};

class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::string_view data) : data_(data) {}
  size_t read(char* buffer, size_t size) override {
    const size_t n = std::min(size, data_.size() - pos_);
    std::memcpy(buffer, data_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  uint64_t offset() const override { return pos_; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

constexpr size_t kWindow = 64, kSlack = kWindow;

struct WindowMasks {
  uint64_t newlines, commas, quotes, blanks;  // blanks: space or tab
};

// Bit i of each mask describes p[i], for the 64 bytes at p.
inline WindowMasks scan_window(const char* p) {
  WindowMasks m{0, 0, 0, 0};
#if defined(__SSE2__)
  const __m128i nl = _mm_set1_epi8('\n'), comma = _mm_set1_epi8(','), quote = _mm_set1_epi8('"'),
                space = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t');
  for (int i = 0; i < 4; ++i) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
    const __m128i blank = _mm_or_si128(_mm_cmpeq_epi8(v, space), _mm_cmpeq_epi8(v, tab));
    m.newlines |= uint64_t(uint32_t(_mm_movemask_epi8(_mm_cmpeq_epi8(v, nl)))) << (16 * i);
    m.commas |= uint64_t(uint32_t(_mm_movemask_epi8(_mm_cmpeq_epi8(v, comma)))) << (16 * i);
    m.quotes |= uint64_t(uint32_t(_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)))) << (16 * i);
    m.blanks |= uint64_t(uint32_t(_mm_movemask_epi8(blank))) << (16 * i);
  }
#else
  for (size_t i = 0; i < kWindow; ++i) {
    m.newlines |= uint64_t(p[i] == '\n') << i;
    m.commas |= uint64_t(p[i] == ',') << i;
    m.quotes |= uint64_t(p[i] == '"') << i;
    m.blanks |= uint64_t(p[i] == ' ' || p[i] == '\t') << i;
  }
#endif
  return m;
}

}  // namespace

LineReader::LineReader(std::string name, std::unique_ptr<ByteSource> source, size_t buffer)
    : name_(std::move(name)),
      source_(std::move(source)),
      buf_(std::max<size_t>(buffer, 1) + kSlack),
      data_(buf_.data()) {}

LineReader::LineReader(std::string name, std::string_view bytes)
    : name_(std::move(name)), data_(bytes.data()), end_(bytes.size()), eof_(true) {}

LineReader::~LineReader() = default;

bool LineReader::next(std::string_view& line, LineScan* scan) {
  const size_t avail = end_ - begin_;
  if (scan) scan->known = false;
  const size_t slack = source_ ? kSlack : 0;  // readable bytes past end_: only our own buffer has them
  if (scan && line_no_ > 0 && avail > 0 && avail + slack >= kWindow) {
    const char* start = data_ + begin_;
    const WindowMasks m = scan_window(start);
    const uint64_t newlines = avail >= kWindow ? m.newlines : m.newlines & ((uint64_t(1) << avail) - 1);
    if (newlines) {
      auto len = size_t(__builtin_ctzll(newlines));
      begin_ += len + 1;
      ++line_no_;
      if (len > 0 && start[len - 1] == '\r') --len;
      const uint64_t inside = (uint64_t(1) << len) - 1, commas = m.commas & inside;
      // Blanks matter only where trim() would strip them: at a field's edge.
      const uint64_t edges = commas << 1 | commas >> 1 | 1 | (uint64_t(1) << len >> 1);
      scan->known = true;
      scan->plain = ((m.quotes | (m.blanks & edges)) & inside) == 0;
      scan->commas = commas;
      line = {start, len};
      return true;
    }
  }
  for (;;) {
    const char* start = data_ + begin_;
    const void* nl = std::memchr(start, '\n', end_ - begin_);
    if (nl || (eof_ && begin_ < end_)) {
      const char* stop = nl ? static_cast<const char*>(nl) : data_ + end_;
      size_t len = size_t(stop - start);
      begin_ += len + (nl ? 1 : 0);
      if (len > 0 && start[len - 1] == '\r') --len;
      ++line_no_;
      line = {start, len};
      if (line_no_ == 1 && line.size() >= 3 && std::memcmp(line.data(), "\xEF\xBB\xBF", 3) == 0)
        line.remove_prefix(3);
      return true;
    }
    if (eof_) return false;
    fill();
  }
}

uint64_t LineReader::offset() const { return source_ ? source_->offset() : begin_; }

void LineReader::fill() {
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ + kSlack == buf_.size()) {
    if (buf_.size() - kSlack >= kMaxLine)
      throw InputError(name_ + ":" + std::to_string(line_no_ + 1) +
                       ": line longer than 64 MiB; is this a CSV interaction log?");
    buf_.resize((buf_.size() - kSlack) * 2 + kSlack);
    data_ = buf_.data();
  }
  const size_t n = source_->read(buf_.data() + end_, buf_.size() - kSlack - end_);
  end_ += n;
  eof_ = n == 0;
}

std::unique_ptr<ByteSource> open_source(const std::string& path) {
  const std::string name = path == "-" ? "<stdin>" : path;
  // Streamed, so a FIFO or a pipe (<(zcat ...)) is fine; devices are not.
  return std::make_unique<GzipSource>(open_streamable(path), name);
}

std::unique_ptr<ByteSource> memory_source(std::string_view data) {
  return std::make_unique<MemorySource>(data);
}

}  // namespace vidrec
