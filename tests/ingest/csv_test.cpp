// SPDX-License-Identifier: MIT
#include "vidrec/ingest/csv.hpp"

#include <catch2/catch.hpp>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <random>

#include "vidrec/base/utf8.hpp"

using namespace vidrec;

namespace {

std::vector<std::string> split(std::string_view line) {
  std::string_view f[8];
  std::vector<std::string> storage;
  const size_t n = split_csv_line(line, f, 8, storage);
  return std::vector<std::string>(f, f + std::min<size_t>(n, 8));
}

}  // namespace

TEST_CASE("split_csv_line: plain, trimmed and quoted fields", "[ingest]") {
  CHECK(split("a,b,c") == std::vector<std::string>{"a", "b", "c"});
  CHECK(split(" a ,\tb\t, c") == std::vector<std::string>{"a", "b", "c"});
  CHECK(split("a,,c,") == std::vector<std::string>{"a", "", "c", ""});
  CHECK(split("\"a,1\",b") == std::vector<std::string>{"a,1", "b"});
  CHECK(split("  \"x\"  , \"USA, metro\" ") == std::vector<std::string>{"x", "USA, metro"});
  CHECK(split("\"say \"\"hi\"\"\",2") == std::vector<std::string>{"say \"hi\"", "2"});
  CHECK(split("\" keep inner \",x") == std::vector<std::string>{" keep inner ", "x"});
  CHECK(split("ab\"c,d") == std::vector<std::string>{"ab\"c", "d"});  // a quote inside a bare field is data
  CHECK(split("\"unterminated,x") == std::vector<std::string>{"unterminated,x"});
  CHECK(split("") == std::vector<std::string>{""});
}

TEST_CASE("split_csv_line recovers random fields at every line length", "[ingest]") {
  // Fields joined with commas (quoted when they hold a comma or a quote),
  // padded with spaces: the split must give the fields back. Lengths run
  // across the 16-byte blocks of the fast path and its tail.
  std::mt19937 rng(21);
  const std::string chars = "ab1,\" ";
  for (int trial = 0; trial < 20000; ++trial) {
    std::vector<std::string> fields(1 + rng() % 8);
    std::string line;
    for (size_t i = 0; i < fields.size(); ++i) {
      std::string& f = fields[i];
      for (size_t n = rng() % 9; n > 0; --n) f += chars[rng() % chars.size()];
      while (!f.empty() && f.back() == ' ') f.pop_back();
      while (!f.empty() && f.front() == ' ') f.erase(f.begin());
      std::string text = f;
      if (f.find_first_of(",\"") != std::string::npos) {
        text.clear();
        for (char c : f) text += c == '"' ? std::string("\"\"") : std::string(1, c);
        text = "\"" + text + "\"";
      }
      line += (i ? "," : "") + std::string(rng() % 2, ' ') + text + std::string(rng() % 2, ' ');
    }
    INFO(line);
    REQUIRE(split(line) == fields);
  }
}

TEST_CASE("split_csv_line counts fields past the maximum", "[ingest]") {
  std::string_view f[6];
  std::vector<std::string> storage;
  CHECK(split_csv_line("1,2,3,4,5,6,7,8", f, 6, storage) == 8);
  CHECK(split_csv_line("\"1\",2,3,4,5,6,\"7\"", f, 6, storage) == 7);
  CHECK(f[5] == "6");
}

TEST_CASE("each reject reason is detected", "[ingest]") {
  LineParser p;
  Row row;
  Reject why{};
  auto check = [&](const char* line, Reject want) {
    INFO(line);
    REQUIRE(p.parse(line, false, row, why) == LineResult::Rejected);
    CHECK(reject_code(why) == std::string(reject_code(want)));
  };
  check("u1,v1,watch,1", Reject::TooFewFields);
  check("u1,v1,watch,1,USA,2025-01-01 00:00:00,extra", Reject::TooManyFields);
  check(",v1,watch,1,USA,2025-01-01 00:00:00", Reject::EmptyUser);
  check("  ,v1,watch,1,USA,2025-01-01 00:00:00", Reject::EmptyUser);
  check("u1,,watch,1,USA,2025-01-01 00:00:00", Reject::EmptyVideo);
  check("u1,v1,watch,abc,USA,2025-01-01 00:00:00", Reject::NonNumericValue);
  check("u1,v1,watch,,USA,2025-01-01 00:00:00", Reject::NonNumericValue);
  check("u1,v1,watch,1x,USA,2025-01-01 00:00:00", Reject::NonNumericValue);
  check("u1,v1,watch,nan,USA,2025-01-01 00:00:00", Reject::NonFiniteValue);
  check("u1,v1,watch,-inf,USA,2025-01-01 00:00:00", Reject::NonFiniteValue);
  check("u1,v1,watch,1e999,USA,2025-01-01 00:00:00", Reject::NonFiniteValue);
  check("u1,v1,watch,1,USA,", Reject::BadTimestamp);
  check("u1,v1,watch,1,USA,2025-13-45 99:99:99", Reject::BadTimestamp);
}

TEST_CASE("valid rows keep their fields; location may be empty", "[ingest]") {
  LineParser p;
  Row row;
  Reject why{};
  REQUIRE(p.parse("u001,v001,like,2,USA,2025-01-01 10:20:00", false, row, why) == LineResult::Row);
  CHECK(row.user == "u001");
  CHECK(row.video == "v001");
  CHECK(row.type == "like");
  CHECK(row.value == 2.0);
  CHECK(row.location == "USA");
  CHECK(row.timestamp == 1735726800);
  REQUIRE(p.parse("\"u,1\",v1,watch,+1.5,,1735726800", false, row, why) == LineResult::Row);
  CHECK(row.user == "u,1");
  CHECK(row.value == 1.5);
  CHECK(row.location.empty());
  REQUIRE(p.parse("u1,v1,watch,1e-400,X,1735726800", false, row, why) == LineResult::Row);  // underflow is 0
  CHECK(row.value == 0.0);
}

// Weights are stored as float32: a value beyond its range would be stored as
// inf and break every later train.
TEST_CASE("values beyond float32's range are non_finite_value, its edge is not", "[ingest]") {
  LineParser p;
  Row row;
  Reject why{};
  auto parse = [&](const std::string& value) {
    return p.parse("u1,v1,watch," + value + ",USA,1735726800", false, row, why);
  };
  char at_max[64], past_max[64];
  std::snprintf(at_max, sizeof at_max, "%.17g", double(FLT_MAX));
  std::snprintf(past_max, sizeof past_max, "%.17g", std::nextafter(double(FLT_MAX), INFINITY));
  for (const std::string& bad :
       std::vector<std::string>{"1e39", "-1e39", "3.5e38", "+3.5e38", "1e300", "-1.7976931348623157e308",
                                "340282356779733661637539395458142568448" /* 2^128 */, std::string(past_max),
                                "-" + std::string(past_max)}) {
    INFO(bad);
    REQUIRE(parse(bad) == LineResult::Rejected);
    CHECK(why == Reject::NonFiniteValue);
  }
  for (const std::string& good :
       std::vector<std::string>{std::string(at_max), "-" + std::string(at_max), "1e38", "-1e38", "9999999999",
                                "340282346638528859811704183484516925440" /* FLT_MAX */}) {
    INFO(good);
    REQUIRE(parse(good) == LineResult::Row);
    CHECK(std::isfinite(float(row.value)));
  }
}

TEST_CASE("valid_utf8 follows Unicode's well-formed table", "[ingest]") {
  for (const char* good : {"", "abc", "S\xC3\xA3o Paulo", "\xE4\xB8\xAD\xE6\x96\x87", "\xF0\x9F\x8E\xAC",
                           "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF", "\xEE\x80\x80",
                           "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF", "long ascii run then \xC3\xA9 and more"})
    CHECK(valid_utf8(good));
  for (const char* bad : {"\x80", "a\xBF", "\xC0\xAF", "\xC1\xBF", "\xC3", "abc\xC3", "\xC3(",
                          "\xE0\x9F\xBF" /* overlong */, "\xED\xA0\x80" /* surrogate */, "\xE2\x82",
                          "\xF0\x8F\xBF\xBF" /* overlong */, "\xF4\x90\x80\x80" /* > U+10FFFF */,
                          "\xF5\x80\x80\x80", "\xFF", "\xFE\xFF", "eight ok\xFF", "\xF0\x9F\x8E"}) {
    INFO(bad);
    CHECK_FALSE(valid_utf8(bad));
  }
  CHECK(valid_utf8(std::string("a\0b", 3)));  // NUL is ASCII
}

// Ids end up in JSON, which must be UTF-8: such a row is rejected, not stored.
TEST_CASE("rows with invalid UTF-8 in an id, the type or the location are invalid_utf8", "[ingest]") {
  const std::string pad(70, 'x');  // a line past the 64-byte window, found without a scan
  for (const std::string& tail : {std::string(), pad}) {
    LineParser p;
    Row row;
    Reject why{};
    for (const std::string bad :
         {"u\xFF\xFE"
          "1,v1,watch,1,USA,1735726800",
          "u1,v\xC3(,like,2,,1735726800", "u1,v1,wat\xC3\xA7\xC3,1,USA,1735726800",
          "u1,v1,watch,1,\xE2\x82,1735726800", "\"u\xC0\xAF\",v1,watch,1,USA,1735726800",
          "u1,v1,watch,1,USA\xED\xA0\x80,2025-01-01 00:00:00"}) {
      std::string l = bad;
      if (!tail.empty()) l.insert(l.find(','), tail);  // a long user id
      INFO(l);
      REQUIRE(p.parse(l, false, row, why) == LineResult::Rejected);
      CHECK(why == Reject::InvalidUtf8);
    }
    for (const std::string good : {"u\xC3\xA9,v\xF0\x9F\x8E\xAC,watch,1,S\xC3\xA3o Paulo,1735726800",
                                   "\"\xE4\xB8\xAD\",v1,\xE2\x82\xAC,1,,1735726800"}) {
      std::string l = good;
      if (!tail.empty()) l.insert(l.find(','), tail);
      INFO(l);
      REQUIRE(p.parse(l, false, row, why) == LineResult::Row);
    }
  }
  // The reasons checked before it win: a bad value or time is reported as such.
  LineParser p;
  Row row;
  Reject why{};
  REQUIRE(p.parse("u\xFF,v1,watch,\xFF,USA,1735726800", false, row, why) == LineResult::Rejected);
  CHECK(why == Reject::NonNumericValue);
  REQUIRE(p.parse("u\xFF,v1,watch,1,USA,\xFF", false, row, why) == LineResult::Rejected);
  CHECK(why == Reject::BadTimestamp);
  REQUIRE(p.parse("u\xFF,v1,watch,1,USA", false, row, why) == LineResult::Rejected);
  CHECK(why == Reject::TooFewFields);
  CHECK(std::string(reject_code(Reject::InvalidUtf8)) == "invalid_utf8");
}
