// SPDX-License-Identifier: MIT
#include "vidrec/ingest/line_reader.hpp"

#include <catch2/catch.hpp>
#include <random>

#include "vidrec/base/errors.hpp"
#include "vidrec/ingest/csv.hpp"
// fccp's line reader is the independent reference for ours.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-truncation"
#include <libfccp/csv.h>
#pragma GCC diagnostic pop

using namespace vidrec;

TEST_CASE("LineReader agrees with fccp's LineReader", "[ingest]") {
  std::mt19937 rng(3);
  for (int round = 0; round < 20; ++round) {
    std::string text;
    const int lines = 1 + int(rng() % 2000);
    for (int i = 0; i < lines; ++i) {
      const int len = int(rng() % 60);
      for (int k = 0; k < len; ++k) text += char('a' + rng() % 26);
      if (i + 1 < lines || rng() % 2) text += rng() % 4 ? "\n" : "\r\n";
    }
    std::vector<std::string> ours, theirs;
    LineReader r("x", memory_source(text),
                 round % 2 ? 1 + rng() % 200 : size_t(1) << 22);  // small: lines straddle refills
    std::string_view line;
    while (r.next(line)) ours.emplace_back(line);
    io::LineReader ref("x", text.data(), text.data() + text.size());
    while (char* l = ref.next_line()) theirs.emplace_back(l);
    REQUIRE(ours == theirs);
    CHECK(r.line_number() == ours.size());
  }
}

TEST_CASE("a line's scan finds what a byte loop finds, and parsing with it changes nothing", "[ingest]") {
  // Lines of every length around the 64-byte window, from an alphabet rich in
  // the bytes that matter (comma, quote, blanks, CR, bytes >= 0x80 that make
  // valid and invalid UTF-8), many of them valid rows.
  std::mt19937 rng(11);
  const std::string alphabet = ",,,,\"  \t\rab1-:\xC3\xA9\xFF\x80";
  auto random_line = [&]() {
    std::string l;
    if (rng() % 2) {
      auto blank = [&]() { return std::string(rng() % 8 ? "" : rng() % 2 ? " " : "\t"); };
      auto pad = [&](std::string f) { return blank() + f + blank(); };
      l = pad("u" + std::to_string(rng() % 1000)) + "," + pad("v" + std::to_string(rng() % 100)) + "," +
          pad("watch") + "," + pad(std::to_string(rng() % 4)) + "," + pad(rng() % 3 ? "USA" : "") + "," +
          pad(rng() % 2
                  ? "2025-01-0" + std::to_string(1 + rng() % 9) + " 10:20:3" + std::to_string(rng() % 10)
                  : std::to_string(rng() % 2000000000));
    }
    const size_t extra = rng() % 3 == 0 ? rng() % 80 : 0;
    for (size_t k = 0; k < extra; ++k)
      l.insert(l.begin() + long(rng() % (l.size() + 1)), alphabet[rng() % alphabet.size()]);
    return l;
  };
  size_t known = 0;
  for (int round = 0; round < 30; ++round) {
    std::string text;
    std::vector<std::string> want;
    const int lines = 1 + int(rng() % 500);
    for (int i = 0; i < lines; ++i) {
      std::string l = random_line();
      if (!l.empty() && l.back() == '\r') l += 'a';  // else it would be read as a CRLF
      text += l;
      if (i + 1 < lines || l.empty() || rng() % 2) text += rng() % 4 ? "\n" : "\r\n";
      want.push_back(l);
    }
    // Over the caller's bytes, and from a source through a buffer large or
    // small enough that lines straddle its refills.
    for (const size_t buffer : {size_t(0), size_t(1) << 22, size_t(100)}) {
      LineReader r =
          buffer ? LineReader("x", memory_source(text), buffer) : LineReader("x", std::string_view(text));
      std::string_view line;
      LineScan scan;
      LineParser with, without;
      size_t i = 0;
      while (r.next(line, &scan)) {
        REQUIRE(i < want.size());
        REQUIRE(line == want[i]);
        if (scan.known) {
          ++known;
          uint64_t commas = 0;
          for (size_t k = 0; k < line.size(); ++k) commas |= uint64_t(line[k] == ',') << k;
          REQUIRE(scan.commas == commas);
          bool high = false;
          for (const char c : line) high |= static_cast<unsigned char>(c) >= 0x80;
          REQUIRE(scan.high == high);
        }
        Row a, b;
        Reject wa{}, wb{};
        const LineResult ra = with.parse(line, i == 0, a, wa, &scan), rb = without.parse(line, i == 0, b, wb);
        INFO(line);
        REQUIRE(ra == rb);
        if (ra == LineResult::Rejected) CHECK(wa == wb);
        if (ra == LineResult::Row)
          CHECK((a.user == b.user && a.video == b.video && a.type == b.type && a.location == b.location &&
                 a.value == b.value && a.timestamp == b.timestamp));
        ++i;
      }
      CHECK(i == want.size());
    }
  }
  CHECK(known > 10000);
}

TEST_CASE("LineReader handles lines longer than its buffer", "[ingest]") {
  const std::string long_line(10 << 20, 'x');
  const std::string text = "a\n" + long_line + "\nb";
  LineReader r("x", memory_source(text));
  std::string_view line;
  REQUIRE(r.next(line));
  REQUIRE(r.next(line));
  CHECK(line.size() == long_line.size());
  REQUIRE(r.next(line));
  CHECK(line == "b");
  CHECK_FALSE(r.next(line));
}
