// SPDX-License-Identifier: MIT
#include "vidrec/ingest/csv.hpp"

#include <catch2/catch.hpp>
#include <random>

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
