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
