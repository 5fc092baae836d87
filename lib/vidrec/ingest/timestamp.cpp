// SPDX-License-Identifier: MIT
#include "vidrec/ingest/timestamp.hpp"

#include <charconv>
#include <cstdio>
#include <cstring>

namespace vidrec {

namespace {

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

}  // namespace

bool parse_timestamp(std::string_view s, int64_t& out, DateCache* cache) {
  if (s.empty()) return false;
  if ((s.size() < 19 || s[4] != '-') && (all_digits(s) || (s[0] == '-' && all_digits(s.substr(1))))) {
    if (s.size() > 13) return false;
    int64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    // 13 digits are epoch milliseconds (no second in range has 13 digits),
    // truncated to the second.
    if (s.size() == 13 && s[0] != '-') v /= 1000;
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
  // A zone offset can carry a time in year 0001 or 9999 past the range, which
  // would then print as year 0000 or 10000 and fail a re-ingest.
  if (t < kMinEpoch || t > kMaxEpoch) return false;
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

}  // namespace vidrec
