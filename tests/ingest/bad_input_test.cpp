// SPDX-License-Identifier: MIT
// The bad-input corpus (tests/data/bad/ plus large cases generated here) run
// through the whole prepare stage, with the exact counts each must give.
#include <catch2/catch.hpp>
#include <fstream>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/ingest/prepare.hpp"

using namespace vidrec;

namespace {

struct Expect {
  uint64_t valid, malformed, header, blank, users, videos, pairs;
};

PrepareReport prepare(const std::string& input, const test::TempDir& dir) {
  PrepareConfig c;
  c.inputs = {input};
  c.output = dir.file("out.vrd");
  c.progress = false;
  return run_prepare(c);
}

void check(const PrepareReport& r, const Expect& e) {
  CHECK(r.ingest.rows_valid == e.valid);
  CHECK(r.ingest.rows_malformed() == e.malformed);
  CHECK(r.ingest.header_lines == e.header);
  CHECK(r.ingest.blank_lines == e.blank);
  CHECK(r.users == e.users);
  CHECK(r.videos == e.videos);
  CHECK(r.pairs == e.pairs);
}

std::string bad(const char* name) { return std::string(VIDREC_TEST_DATA) + "/bad/" + name; }

}  // namespace

TEST_CASE("bad-input corpus: exact counts", "[bad_input]") {
  test::TempDir dir;
  // Ids must be UTF-8 (they reach JSON): rows with invalid bytes in the user,
  // video or location are rejected; the valid multi-byte row is kept as is.
  const PrepareReport utf8 = prepare(bad("invalid_utf8.csv"), dir);
  check(utf8, {1, 3, 1, 0, 1, 1, 1});
  CHECK(utf8.ingest.rejected[size_t(Reject::InvalidUtf8)] == 3);
  CHECK(Dataset::open(dir.file("out.vrd")).find_user("u\xC3\xA9").has_value());
  // A NUL inside an id keeps it distinct from its prefix ("u2\0x" vs "u2");
  // a NUL in the value makes it non-numeric.
  const PrepareReport nul = prepare(bad("nul_bytes.csv"), dir);
  check(nul, {3, 1, 1, 0, 3, 1, 3});
  CHECK(nul.ingest.rejected[size_t(Reject::NonNumericValue)] == 1);
  const Dataset ds = Dataset::open(dir.file("out.vrd"));
  CHECK(ds.find_user(std::string("u2\0x", 4)).has_value());
  CHECK(ds.find_user("u2").has_value());

  check(prepare(bad("no_header.csv"), dir), {2, 0, 0, 0, 2, 1, 2});
  check(prepare(bad("bom.csv"), dir), {1, 0, 1, 0, 1, 1, 1});
  check(prepare(bad("mixed_eol.csv"), dir), {4, 0, 1, 2, 3, 3, 4});
  const PrepareReport quote = prepare(bad("unterminated_quote.csv"), dir);
  check(quote, {1, 1, 1, 0, 1, 1, 1});
  CHECK(quote.ingest.rejected[size_t(Reject::TooFewFields)] == 1);
  CHECK_THROWS_WITH(prepare(bad("header_only.csv"), dir), Catch::Contains("no valid interaction rows"));
}

TEST_CASE("bad-input corpus: a 10 MB line between good rows", "[bad_input]") {
  test::TempDir dir;
  {
    std::ofstream f(dir.file("long.csv"), std::ios::binary);
    f << "u1,v1,watch,1,USA,1735726800\n" << std::string(10 << 20, 'x') << "\nu2,v1,watch,1,USA,1735726800\n";
  }
  const PrepareReport r = prepare(dir.file("long.csv"), dir);
  check(r, {2, 1, 0, 0, 2, 1, 2});
  CHECK(r.ingest.rejected[size_t(Reject::TooFewFields)] == 1);
}

TEST_CASE("bad-input corpus: a million users with one row each", "[bad_input]") {
  test::TempDir dir;
  {
    std::ofstream f(dir.file("wide.csv"), std::ios::binary);
    char line[64];
    for (int u = 0; u < 1000000; ++u) {
      const int n = std::snprintf(line, sizeof line, "u%07d,v%d,watch,1,,%d\n", u, u % 997, 1735726800 + u);
      f.write(line, n);
    }
  }
  check(prepare(dir.file("wide.csv"), dir), {1000000, 0, 0, 0, 1000000, 997, 1000000});
}
