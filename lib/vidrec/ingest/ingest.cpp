// SPDX-License-Identifier: MIT
#include "vidrec/ingest/ingest.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>

#include "vidrec/base/errors.hpp"
#include "vidrec/base/progress.hpp"

namespace vidrec {

const char* reject_code(Reject r) {
  static const char* const codes[kRejectKinds] = {"too_few_fields", "too_many_fields",   "empty_user",
                                                  "empty_video",    "non_numeric_value", "non_finite_value",
                                                  "bad_timestamp"};
  return codes[size_t(r)];
}

uint64_t IngestStats::rows_malformed() const {
  return std::accumulate(rejected.begin(), rejected.end(), uint64_t{0});
}

namespace {

inline bool is_space(char c) { return c == ' ' || c == '\t'; }

__attribute__((always_inline)) inline std::string_view trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

int digits(std::string_view s, size_t at, size_t n) {
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// Howard Hinnant's days_from_civil: days since 1970-01-01 of a Gregorian date.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = unsigned(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + int64_t(doe) - 719468;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// The 10 bytes of a YYYY-MM-DD date are equal (two loads, no memcmp call).
bool same_date(const char* a, const char* b) {
  uint64_t a8, b8;
  uint16_t a2, b2;
  std::memcpy(&a8, a, 8);
  std::memcpy(&b8, b, 8);
  std::memcpy(&a2, a + 8, 2);
  std::memcpy(&b2, b + 8, 2);
  return a8 == b8 && a2 == b2;
}

// Earliest and latest instants we accept: years 0001..9999.
constexpr int64_t kMinEpoch = -62135596800;
constexpr int64_t kMaxEpoch = 253402300799;

bool parse_value(std::string_view s, double& v, Reject& why) {
  if (s.size() > 1 && s[0] == '+' && s[1] != '-') s.remove_prefix(1);
  if (s.empty()) {
    why = Reject::NonNumericValue;
    return false;
  }
  // Logs hold small integers ("1", "3"): read them directly, exactly.
  if (s.size() <= 9 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    int64_t n = 0;
    for (char c : s) n = n * 10 + (c - '0');
    v = double(n);
    return true;
  }
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::invalid_argument || end != s.data() + s.size()) {
    why = Reject::NonNumericValue;
    return false;
  }
  if (ec == std::errc::result_out_of_range) {
    // from_chars reports both overflow and underflow; strtod tells them apart.
    v = std::strtod(std::string(s).c_str(), nullptr);
  }
  if (!std::isfinite(v)) {
    why = Reject::NonFiniteValue;
    return false;
  }
  return true;
}

}  // namespace

namespace {

// Bit i set where line[at + i] is c, for the 16 bytes at `at` (SSE2, which
// every x86-64 has; a byte loop elsewhere).
inline uint32_t match16(const char* p, char c) {
#if defined(__SSE2__)
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return uint32_t(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(c))));
#else
  uint32_t m = 0;
  for (int i = 0; i < 16; ++i) m |= uint32_t(p[i] == c) << i;
  return m;
#endif
}

// The common case, a line without quotes: commas found 16 bytes at a time.
// Returns false (fields untouched) when the line holds a quote.
bool split_plain(std::string_view line, std::string_view* fields, size_t max, size_t& n) {
  const char* p = line.data();
  const size_t len = line.size();
  size_t start = 0, i = 0;
  n = 0;
  auto field = [&](size_t end) {
    if (n < max) fields[n] = trim(line.substr(start, end - start));
    ++n;
    start = end + 1;
  };
  for (; i + 16 <= len; i += 16) {
    if (match16(p + i, '"')) return false;
    for (uint32_t m = match16(p + i, ','); m; m &= m - 1) field(i + size_t(__builtin_ctz(m)));
  }
  if (i < len && len >= 16) {  // the tail: the line's last 16 bytes, less those already seen
    const size_t seen = i - (len - 16);
    if (match16(p + len - 16, '"') >> seen) return false;
    for (uint32_t m = match16(p + len - 16, ',') >> seen; m; m &= m - 1) field(i + size_t(__builtin_ctz(m)));
    i = len;
  }
  for (; i < len; ++i) {
    if (p[i] == '"') return false;
    if (p[i] == ',') field(i);
  }
  field(len);
  return true;
}

}  // namespace

size_t split_csv_line(std::string_view line, std::string_view* fields, size_t max,
                      std::vector<std::string>& storage) {
  size_t n = 0;
  if (split_plain(line, fields, max, n)) return n;
  n = 0;
  // Quoted fields: unescape into storage, one string per field slot.
  if (storage.size() < max) storage.resize(max);
  size_t i = 0;
  const size_t len = line.size();
  for (;;) {
    while (i < len && is_space(line[i])) ++i;
    if (i < len && line[i] == '"') {
      std::string tmp;
      std::string& out = n < max ? storage[n] : tmp;
      out.clear();
      ++i;
      while (i < len) {
        if (line[i] == '"') {
          if (i + 1 < len && line[i + 1] == '"') {
            out += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        out += line[i++];
      }
      // Anything between the closing quote and the comma is kept, trimmed.
      size_t start = i;
      while (i < len && line[i] != ',') ++i;
      std::string_view rest = trim(line.substr(start, i - start));
      if (n < max) {
        out.append(rest.data(), rest.size());
        fields[n] = out;
      }
    } else {
      size_t start = i;
      while (i < len && line[i] != ',') ++i;
      if (n < max) fields[n] = trim(line.substr(start, i - start));
    }
    ++n;
    if (i >= len) return n;
    ++i;  // the comma
  }
}

bool parse_timestamp(std::string_view s, int64_t& out, DateCache* cache) {
  if (s.empty()) return false;
  if ((s.size() < 19 || s[4] != '-') && (all_digits(s) || (s[0] == '-' && all_digits(s.substr(1))))) {
    if (s.size() > 13) return false;
    int64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    if (v < kMinEpoch || v > kMaxEpoch) return false;
    out = v;
    return true;
  }
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' ||
      s[16] != ':')
    return false;
  const int h = digits(s, 11, 2), mi = digits(s, 14, 2), se = digits(s, 17, 2);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59) return false;
  int64_t days;
  if (cache && cache->valid && same_date(cache->date, s.data())) {
    days = cache->days;  // logs are time-ordered: most rows repeat the last date
  } else {
    const int y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
    if (y < 1 || mo < 1 || mo > 12 || d < 1) return false;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (d > mdays[mo - 1] + (mo == 2 && leap(y))) return false;
    days = days_from_civil(y, unsigned(mo), unsigned(d));
    if (cache) {
      std::memcpy(cache->date, s.data(), 10);
      cache->days = days;
      cache->valid = true;
    }
  }
  int64_t t = days * 86400 + h * 3600 + mi * 60 + se;
  // ISO 8601 tail: optional fraction (dropped), then Z or +HH:MM / -HH:MM.
  std::string_view rest = s.substr(19);
  if (!rest.empty() && rest[0] == '.') {
    size_t k = 1;
    while (k < rest.size() && rest[k] >= '0' && rest[k] <= '9') ++k;
    if (k == 1) return false;
    rest.remove_prefix(k);
  }
  if (rest == "Z") {
    rest = {};
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    const int oh = digits(rest, 1, 2), om = digits(rest, 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return false;
    const int64_t off = oh * 3600 + om * 60;
    t += rest[0] == '+' ? -off : off;
    rest = {};
  }
  if (!rest.empty()) return false;
  out = t;
  return true;
}

std::string format_timestamp(int64_t t) {
  int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
  int64_t secs = t - days * 86400;
  // Hinnant's civil_from_days.
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = unsigned(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = int64_t(yoe) + era * 400 + (m <= 2);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u %02lld:%02lld:%02lld", static_cast<long long>(y), m, d,
                static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                static_cast<long long>(secs % 60));
  return buf;
}

namespace {
// popcount(m) == 5 without a library call (x86-64's baseline has no POPCNT).
bool has_five_bits(uint64_t m) {
  for (int i = 0; i < 5; ++i, m &= m - 1)
    if (!m) return false;
  return m == 0;
}
}  // namespace

LineResult LineParser::parse(std::string_view line, bool first, Row& row, Reject& why, const LineScan* scan) {
  size_t n = 6;
  if (scan && scan->known && scan->plain && !first && has_five_bits(scan->commas)) {
    // Six fields, nothing to trim or unquote: they lie between the commas.
    uint64_t commas = scan->commas;
    size_t start = 0;
    for (size_t i = 0; i < 5; ++i, commas &= commas - 1) {
      const auto at = size_t(__builtin_ctzll(commas));
      fields_[i] = {line.data() + start, at - start};
      start = at + 1;
    }
    fields_[5] = {line.data() + start, line.size() - start};
  } else {
    if (trim(line).empty()) return LineResult::Blank;
    n = split_csv_line(line, fields_.data(), fields_.size(), storage_);
    if (first && n >= 2 && (iequals(fields_[0], "userId") || iequals(fields_[0], "user_id")) &&
        (iequals(fields_[1], "videoId") || iequals(fields_[1], "video_id")))
      return LineResult::Header;
  }
  if (n < 6) {
    why = Reject::TooFewFields;
  } else if (n > 6) {
    why = Reject::TooManyFields;
  } else if (fields_[0].empty()) {
    why = Reject::EmptyUser;
  } else if (fields_[1].empty()) {
    why = Reject::EmptyVideo;
  } else if (parse_value(fields_[3], row.value, why)) {
    if (parse_timestamp(fields_[5], row.timestamp, &dates_)) {
      row.user = fields_[0];
      row.video = fields_[1];
      row.type = fields_[2];
      row.location = fields_[4];
      return LineResult::Row;
    }
    why = Reject::BadTimestamp;
  }
  return LineResult::Rejected;
}

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

std::string count_str(uint64_t n) {
  char buf[32];
  if (n >= 1000000)
    std::snprintf(buf, sizeof buf, "%.1fM", double(n) / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
  return buf;
}

void run(LineReader& reader, const std::string& name, const IngestOptions& opt, RowSink& sink,
         IngestStats& st, uint64_t total_bytes) {
  Progress progress("prepare " + name, total_bytes, opt.progress);
  LineParser parser;
  Row row;
  Reject why{};
  bool first = true;
  const bool filter = !opt.type_weights.empty() || !opt.ignore_types.empty();
  std::string_view line;
  LineScan scan;
  while (reader.next(line, &scan)) {
    ++st.lines;
    if ((st.lines & 0xffff) == 0)
      progress.update(reader.offset(),
                      human_bytes(double(reader.offset())) + ", " + count_str(st.rows_valid) + " rows");
    switch (parser.parse(line, first, row, why, &scan)) {
      case LineResult::Blank:
        ++st.blank_lines;
        continue;
      case LineResult::Header:
        ++st.header_lines;
        break;
      case LineResult::Rejected: {
        ++st.rejected[size_t(why)];
        const uint64_t lineno = reader.line_number();
        if (opt.rejects)
          *opt.rejects << name << ':' << lineno << '\t' << reject_code(why) << '\t' << line << '\n';
        if (opt.strict)
          throw InputError(name + ":" + std::to_string(lineno) + ": " + reject_code(why) +
                           " (--strict stops at the first bad row): " + std::string(line.substr(0, 200)));
        break;
      }
      case LineResult::Row: {
        ++st.rows_valid;
        double weight = row.value;
        if (filter) {
          if (opt.ignore_types.count(row.type)) {
            ++st.rows_ignored;
            break;
          }
          auto w = opt.type_weights.find(row.type);
          if (w != opt.type_weights.end()) weight = w->second;
        }
        st.value_sum += weight;
        sink.add(row, weight);
        break;
      }
    }
    first = false;
  }
  st.bytes += reader.offset();
  progress.finish("");
}

}  // namespace

namespace {

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
  int fd = path == "-" ? ::dup(STDIN_FILENO) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(name + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw IoError(name + ": is a directory");
  }
  return std::make_unique<GzipSource>(fd, name);
}

std::unique_ptr<ByteSource> memory_source(std::string_view data) {
  return std::make_unique<MemorySource>(data);
}

void ingest_file(const std::string& path, const IngestOptions& options, RowSink& sink, IngestStats& stats) {
  const std::string name = path == "-" ? "<stdin>" : path;
  struct stat st {};
  const bool regular = path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  LineReader reader(name, open_source(path));
  run(reader, name, options, sink, stats, regular ? uint64_t(st.st_size) : 0);
}

void ingest_buffer(const std::string& name, std::string_view data, const IngestOptions& options,
                   RowSink& sink, IngestStats& stats) {
  LineReader reader(name, data);
  run(reader, name, options, sink, stats, 0);
}

}  // namespace vidrec
