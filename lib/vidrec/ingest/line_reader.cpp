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
#include <string>

#include "vidrec/base/errors.hpp"
#include "vidrec/io/paths.hpp"

namespace vidrec {

namespace {

// A file descriptor's bytes: passed through when plain, inflated when they
// start with gzip's magic. Our own inflate loop rather than gzread: gzread
// decodes concatenated members but silently drops whatever non-gzip bytes
// follow a member (plain rows appended to a .gz would vanish uncounted).
// Here a member must be followed by another member or the end of the input.
class FileSource : public ByteSource {
 public:
  FileSource(int fd, std::string name) : fd_(fd), name_(std::move(name)), in_(size_t(1) << 18) {}
  ~FileSource() override {
    if (mode_ == Mode::Gzip) inflateEnd(&zs_);
    ::close(fd_);
  }

  size_t read(char* buffer, size_t size) override {
    if (mode_ == Mode::Unknown) start();
    if (mode_ == Mode::Plain) {
      if (have_ > 0) {  // the bytes looked at to tell plain from gzip
        const size_t n = std::min(size, have_);
        std::memcpy(buffer, in_.data() + at_, n);
        at_ += n;
        have_ -= n;
        return n;
      }
      return raw_read(buffer, size);
    }
    if (mode_ == Mode::Done) return 0;
    size = std::min<size_t>(size, 1u << 30);
    for (;;) {
      if (have_ == 0 && !eof_) refill();
      zs_.next_in = in_.data() + at_;
      zs_.avail_in = uInt(have_);
      zs_.next_out = reinterpret_cast<Bytef*>(buffer);
      zs_.avail_out = uInt(size);
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      at_ += have_ - zs_.avail_in;
      have_ = zs_.avail_in;
      const size_t produced = size - zs_.avail_out;
      if (rc == Z_STREAM_END) {
        next_member();
      } else if (rc == Z_BUF_ERROR && have_ == 0 && eof_) {
        throw IoError(name_ + ": corrupt or truncated gzip data (unexpected end of file)");
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        throw IoError(name_ + ": corrupt or truncated gzip data (" +
                      (zs_.msg ? zs_.msg : "inflate error " + std::to_string(rc)) + ")");
      }
      if (produced > 0 || mode_ == Mode::Done) return produced;
    }
  }
  uint64_t offset() const override { return consumed_ - have_; }

 private:
  enum class Mode { Unknown, Plain, Gzip, Done };

  // Reads more raw bytes after the `have_` still unread; sets eof_ on none.
  void refill() {
    if (at_ > 0) {
      std::memmove(in_.data(), in_.data() + at_, have_);
      at_ = 0;
    }
    const size_t n = raw_read(reinterpret_cast<char*>(in_.data()) + have_, in_.size() - have_);
    have_ += n;
    eof_ = n == 0;
  }
  // At least `n` unread bytes, unless the input ends first.
  void want(size_t n) {
    while (have_ < n && !eof_) refill();
  }
  bool magic() const { return have_ >= 2 && in_[at_] == 0x1f && in_[at_ + 1] == 0x8b; }

  void start() {
    want(2);
    if (!magic()) {
      mode_ = Mode::Plain;
      return;
    }
    std::memset(&zs_, 0, sizeof zs_);
    if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK) throw IoError(name_ + ": cannot start gzip decoding");
    mode_ = Mode::Gzip;
  }

  // A member has ended: another one may follow (concatenated gzip, as
  // `cat a.gz b.gz` makes), else the input must end here.
  void next_member() {
    want(2);
    if (have_ == 0) {
      inflateEnd(&zs_);  // the destructor ends only a stream still in Mode::Gzip
      mode_ = Mode::Done;
      return;
    }
    if (!magic())
      throw InputError(name_ + ": bytes after the gzip data (from byte " + std::to_string(offset()) +
                       ") are not gzip; plain text appended to a compressed log is not read, so "
                       "decompress it and concatenate the plain text instead");
    inflateReset(&zs_);
  }

  size_t raw_read(char* buffer, size_t size) {
    for (;;) {
      const ssize_t n = ::read(fd_, buffer, size);
      if (n >= 0) {
        consumed_ += uint64_t(n);
        return size_t(n);
      }
      if (errno != EINTR) throw IoError(name_ + ": read failed: " + std::strerror(errno));
    }
  }

  int fd_;
  std::string name_;
  Mode mode_ = Mode::Unknown;
  z_stream zs_{};
  std::vector<unsigned char> in_;  // raw bytes; [at_, at_ + have_) not yet used
  size_t at_ = 0, have_ = 0;
  bool eof_ = false;
  uint64_t consumed_ = 0;  // raw bytes read from fd_
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
  uint64_t high;                              // bytes >= 0x80
};

// Bit i of each mask describes p[i], for the 64 bytes at p.
inline WindowMasks scan_window(const char* p) {
  WindowMasks m{0, 0, 0, 0, 0};
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
    m.high |= uint64_t(uint32_t(_mm_movemask_epi8(v))) << (16 * i);  // the sign bits
  }
#else
  for (size_t i = 0; i < kWindow; ++i) {
    m.newlines |= uint64_t(p[i] == '\n') << i;
    m.commas |= uint64_t(p[i] == ',') << i;
    m.quotes |= uint64_t(p[i] == '"') << i;
    m.blanks |= uint64_t(p[i] == ' ' || p[i] == '\t') << i;
    m.high |= uint64_t(static_cast<unsigned char>(p[i]) >= 0x80) << i;
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

LineReader::LineReader(std::string name, std::string_view bytes, uint64_t lines_before)
    : name_(std::move(name)), data_(bytes.data()), end_(bytes.size()), eof_(true), line_no_(lines_before) {}

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
      scan->high = (m.high & inside) != 0;
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

void throw_long_line(const std::string& name, uint64_t line) {
  throw InputError(name + ":" + std::to_string(line) + ": line longer than 64 MiB; is this a CSV interaction log?");
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
      throw_long_line(name_, line_no_ + 1);
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
  return std::make_unique<FileSource>(open_streamable(path), name);
}

std::unique_ptr<ByteSource> memory_source(std::string_view data) {
  return std::make_unique<MemorySource>(data);
}

}  // namespace vidrec
