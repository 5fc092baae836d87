// SPDX-License-Identifier: MIT
#include "vidrec/ingest/timestamp.hpp"

#include <catch2/catch.hpp>
#include <random>

using namespace vidrec;

TEST_CASE("parse_timestamp accepts the documented forms", "[ingest]") {
  int64_t t = 0;
  REQUIRE(parse_timestamp("1970-01-01 00:00:00", t));
  CHECK(t == 0);
  REQUIRE(parse_timestamp("2025-01-01 10:20:00", t));
  CHECK(t == 1735726800);
  REQUIRE(parse_timestamp("2025-01-01T10:20:00", t));
  CHECK(t == 1735726800);
  REQUIRE(parse_timestamp("2025-01-01T10:20:00Z", t));
  CHECK(t == 1735726800);
  REQUIRE(parse_timestamp("2025-01-01T12:20:00+02:00", t));
  CHECK(t == 1735726800);
  REQUIRE(parse_timestamp("2025-01-01T10:20:00.250Z", t));
  CHECK(t == 1735726800);
  REQUIRE(parse_timestamp("1735726800", t));
  CHECK(t == 1735726800);
  REQUIRE(parse_timestamp("2024-02-29 23:59:59", t));  // leap day
  CHECK(t == 1709251199);
  REQUIRE(parse_timestamp("2000-02-29 00:00:00", t));  // divisible by 400
  REQUIRE(parse_timestamp("-86400", t));
  CHECK(t == -86400);
}

// Hand-computed: 2025-01-01 is day 20089 since 1970-01-01 (55 years, 14 leap
// days: 55 * 365 + 14), so 10:20:00 that day is 20089 * 86400 + 37200.
TEST_CASE("parse_timestamp reads 13 digits as epoch milliseconds, truncated", "[ingest]") {
  int64_t t = 0;
  REQUIRE(parse_timestamp("1735726800000", t));
  CHECK(t == 20089 * int64_t(86400) + 37200);
  REQUIRE(parse_timestamp("1735726800999", t));
  CHECK(t == 1735726800);
  REQUIRE(parse_timestamp("1000000000000", t));  // 2001-09-09 01:46:40, the first 13-digit one
  CHECK(t == 1000000000);
  CHECK(format_timestamp(t) == "2001-09-09 01:46:40");
  REQUIRE(parse_timestamp("9999999999999", t));  // 2286-11-20 17:46:39.999
  CHECK(t == 9999999999);
  CHECK(format_timestamp(t) == "2286-11-20 17:46:39");
  // 12 digits are still seconds (and out of range past year 9999); 14 are refused.
  REQUIRE(parse_timestamp("253402300799", t));
  CHECK(t == 253402300799);
  CHECK_FALSE(parse_timestamp("999999999999", t));
  CHECK_FALSE(parse_timestamp("17357268000000", t));
  CHECK_FALSE(parse_timestamp("-1735726800000", t));
}

TEST_CASE("parse_timestamp rejects malformed and impossible times", "[ingest]") {
  int64_t t = 0;
  for (const char* bad :
       {"", "yesterday", "2025-13-45 99:99:99", "2025-02-29 00:00:00", "1900-02-29 00:00:00",
        "2025-04-31 00:00:00", "2025-01-01 24:00:00", "2025-01-01 10:60:00", "2025-01-01 10:20:60",
        "2025-01-01", "2025/01/01 10:20:00", "2025-01-01 10:20:00X", "2025-01-01T10:20:00+2", "12.5",
        "99999999999999", "0000-01-01 00:00:00", "2025-1-01 10:20:00", "2025-01-01T10:20:00."})
    CHECK_FALSE(parse_timestamp(bad, t));
}

TEST_CASE("format_timestamp inverts parse_timestamp", "[ingest]") {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> d(-62135596800, 253402300799);
  for (int i = 0; i < 2000; ++i) {
    const int64_t t = d(rng);
    int64_t back = 0;
    const std::string s = format_timestamp(t);
    REQUIRE(parse_timestamp(s, back));
    REQUIRE(back == t);
  }
  CHECK(format_timestamp(1735726800) == "2025-01-01 10:20:00");
  CHECK(format_timestamp(-1) == "1969-12-31 23:59:59");
}

// A zone offset applies before the range check: the stored instant must lie
// in years 0001..9999, or it prints as year 0000 / 10000 and fails re-ingest.
TEST_CASE("parse_timestamp range-checks the instant after the zone offset", "[ingest]") {
  constexpr int64_t kMin = -62135596800, kMax = 253402300799;  // 0001-01-01 00:00:00, 9999-12-31 23:59:59
  int64_t t = 0;
  REQUIRE(parse_timestamp("0001-01-01T00:00:00Z", t));
  CHECK(t == kMin);
  REQUIRE(parse_timestamp("0001-01-01T00:00:00-00:00", t));
  CHECK(t == kMin);
  REQUIRE(parse_timestamp("0001-01-01T00:59:00+00:59", t));  // exactly the first instant
  CHECK(t == kMin);
  REQUIRE(parse_timestamp("0001-01-01T00:00:00-23:59", t));  // west: later
  CHECK(t == kMin + 86340);
  CHECK_FALSE(parse_timestamp("0001-01-01T00:00:00+00:01", t));  // 0000-12-31 23:59
  CHECK_FALSE(parse_timestamp("0001-01-01T00:58:59+00:59", t));  // one second early
  CHECK_FALSE(parse_timestamp("0001-01-01T10:00:00.5+23:59", t));

  REQUIRE(parse_timestamp("9999-12-31T23:59:59Z", t));
  CHECK(t == kMax);
  REQUIRE(parse_timestamp("9999-12-31T23:00:59-00:59", t));  // exactly the last instant
  CHECK(t == kMax);
  REQUIRE(parse_timestamp("9999-12-31T23:59:59+23:59", t));  // east: earlier
  CHECK(t == kMax - 86340);
  CHECK_FALSE(parse_timestamp("9999-12-31T23:59:59-00:01", t));  // 10000-01-01 00:00:59
  CHECK_FALSE(parse_timestamp("9999-12-31T23:01:00-00:59", t));  // one second late
  CHECK_FALSE(parse_timestamp("9999-12-31T12:00:00-23:59", t));

  // Whatever parses formats back to the same instant.
  for (const char* s : {"0001-01-01T00:59:00+00:59", "9999-12-31T23:00:59-00:59"}) {
    REQUIRE(parse_timestamp(s, t));
    int64_t back = 0;
    REQUIRE(parse_timestamp(format_timestamp(t), back));
    CHECK(back == t);
  }
  // The cached date is the local one; the offset check must not depend on it.
  DateCache cache;
  REQUIRE(parse_timestamp("9999-12-31T00:00:00Z", t, &cache));
  CHECK_FALSE(parse_timestamp("9999-12-31T23:59:59-00:01", t, &cache));
  REQUIRE(parse_timestamp("9999-12-31T23:59:59+00:01", t, &cache));
}
