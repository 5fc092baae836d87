// SPDX-License-Identifier: MIT
#include "vidrec/ingest/csv.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "vidrec/base/utf8.hpp"

namespace vidrec {

const char* reject_code(Reject r) {
  static const char* const codes[kRejectKinds] = {"too_few_fields", "too_many_fields",   "empty_user",
                                                  "empty_video",    "non_numeric_value", "non_finite_value",
                                                  "bad_timestamp",  "invalid_utf8"};
  return codes[size_t(r)];
}

namespace {

inline bool is_space(char c) { return c == ' ' || c == '\t'; }

__attribute__((always_inline)) inline std::string_view trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

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
  // Weights are stored as float32: a value past its range would become inf
  // there (and NaN fails the comparison too).
  if (!(std::fabs(v) <= double(FLT_MAX))) {
    why = Reject::NonFiniteValue;
    return false;
  }
  return true;
}

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

// The common case, a line without quotes: delimiters found 16 bytes at a time.
// Returns false (fields untouched) when the line holds a quote.
bool split_plain(std::string_view line, std::string_view* fields, size_t max, size_t& n, char delim) {
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
    for (uint32_t m = match16(p + i, delim); m; m &= m - 1) field(i + size_t(__builtin_ctz(m)));
  }
  if (i < len && len >= 16) {  // the tail: the line's last 16 bytes, less those already seen
    const size_t seen = i - (len - 16);
    if (match16(p + len - 16, '"') >> seen) return false;
    for (uint32_t m = match16(p + len - 16, delim) >> seen; m; m &= m - 1)
      field(i + size_t(__builtin_ctz(m)));
    i = len;
  }
  for (; i < len; ++i) {
    if (p[i] == '"') return false;
    if (p[i] == delim) field(i);
  }
  field(len);
  return true;
}

// popcount(m) == 5 without a library call (x86-64's baseline has no POPCNT).
bool has_five_bits(uint64_t m) {
  for (int i = 0; i < 5; ++i, m &= m - 1)
    if (!m) return false;
  return m == 0;
}

}  // namespace

size_t split_csv_line(std::string_view line, std::string_view* fields, size_t max,
                      std::vector<std::string>& storage, char delim) {
  size_t n = 0;
  if (split_plain(line, fields, max, n, delim)) return n;
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
      // Anything between the closing quote and the delimiter is kept, trimmed.
      size_t start = i;
      while (i < len && line[i] != delim) ++i;
      std::string_view rest = trim(line.substr(start, i - start));
      if (n < max) {
        out.append(rest.data(), rest.size());
        fields[n] = out;
      }
    } else {
      size_t start = i;
      while (i < len && line[i] != delim) ++i;
      if (n < max) fields[n] = trim(line.substr(start, i - start));
    }
    ++n;
    if (i >= len) return n;
    ++i;  // the delimiter
  }
}

LineParser::LineParser(const Layout& layout)
    : delim_(layout.delimiter ? layout.delimiter : ','),
      detect_(!layout.delimiter),
      fixed_(layout.columns.has_value()) {
  use(layout.columns.value_or(ColumnMap{}));
}

void LineParser::use(const ColumnMap& map) {
  map_ = map;
  standard_ = delim_ == ',' && map.standard();
  fields_.resize(std::max(map.width, kColumns));
}

// A first line is tried as a header with the delimiter given, or else with
// each one a header may use; the one it reads with stays for the input, and
// so do its columns unless --columns gave them.
bool LineParser::read_header(std::string_view line) {
  static constexpr char kCandidates[] = {',', '\t', ';', '|'};
  std::vector<std::string_view> fields(kMaxHeaderFields + 1);
  for (char d : kCandidates) {
    if (!detect_ && d != delim_) continue;
    const size_t n = split_csv_line(line, fields.data(), fields.size(), storage_, d);
    std::optional<ColumnMap> map;
    if (fixed_ ? !is_header(fields.data(), n) : !(map = header_map(fields.data(), n))) continue;
    delim_ = d;
    use(map.value_or(map_));
    return true;
  }
  return false;
}

LineResult LineParser::parse(std::string_view line, bool first, Row& row, Reject& why, const LineScan* scan) {
  if (first) {
    // A line that reads as a row is one, whatever names its fields hold (a
    // header's value and time fields never parse).
    const LineResult r = parse(line, false, row, why);
    return r == LineResult::Rejected && read_header(line) ? LineResult::Header : r;
  }
  size_t n = kColumns;
  if (scan && scan->known && scan->plain && standard_ && has_five_bits(scan->commas)) {
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
    n = split_csv_line(line, fields_.data(), map_.width, storage_, delim_);
  }
  n_ = n;
  const std::string_view* f = fields_.data();
  if (!standard_ && n == map_.width) {
    for (size_t c = 0; c < kColumns; ++c)
      picked_[c] = map_.at[c] >= 0 ? fields_[size_t(map_.at[c])] : std::string_view();
    f = picked_.data();
  }
  if (n < map_.width) {
    why = Reject::TooFewFields;
  } else if (n > map_.width) {
    why = Reject::TooManyFields;
  } else if (f[0].empty()) {
    why = Reject::EmptyUser;
  } else if (f[1].empty()) {
    why = Reject::EmptyVideo;
  } else if (parse_value(f[3], row.value, why)) {
    if (parse_timestamp(f[5], row.timestamp, &dates_)) {
      row.user = f[0];
      row.video = f[1];
      row.type = f[2];
      row.location = f[4];
      // Ids reach JSON (inspect, serve), which must be UTF-8. Only a line with
      // a byte >= 0x80 can fail, and the line scan says whether it has one.
      // (The value and timestamp are ASCII once they have parsed.)
      if ((scan && scan->known && !scan->high) ||
          (valid_utf8(row.user) && valid_utf8(row.video) && valid_utf8(row.type) && valid_utf8(row.location)))
        return LineResult::Row;
      why = Reject::InvalidUtf8;
      return LineResult::Rejected;
    }
    why = Reject::BadTimestamp;
  }
  return LineResult::Rejected;
}

}  // namespace vidrec
