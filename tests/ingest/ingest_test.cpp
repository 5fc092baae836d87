// SPDX-License-Identifier: MIT
#include "vidrec/ingest/ingest.hpp"

#include <zlib.h>

#include <catch2/catch.hpp>
#include <random>
#include <sstream>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"
// fccp's line reader is the independent reference for ours.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-truncation"
#include <libfccp/csv.h>
#pragma GCC diagnostic pop

using namespace vidrec;

namespace {

std::vector<std::string> split(std::string_view line) {
  std::string_view f[8];
  std::vector<std::string> storage;
  const size_t n = split_csv_line(line, f, 8, storage);
  return std::vector<std::string>(f, f + std::min<size_t>(n, 8));
}

struct Collect : RowSink {
  struct Item {
    std::string user, video, type;
    double weight;
    int64_t ts;
  };
  std::vector<Item> rows;
  void add(const Row& r, double w) override {
    rows.push_back({std::string(r.user), std::string(r.video), std::string(r.type), w, r.timestamp});
  }
};

IngestStats ingest(const std::string& text, IngestOptions opt = {}, Collect* sink = nullptr) {
  Collect local;
  IngestStats st;
  opt.progress = false;
  ingest_buffer("t.csv", text, opt, sink ? *sink : local, st);
  return st;
}

uint64_t rejected(const IngestStats& st, Reject r) { return st.rejected[size_t(r)]; }

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

TEST_CASE("header is recognised only as the first non-blank line", "[ingest]") {
  const std::string h = "userId,videoId,interactionType,interactionValue,location,timestamp\n";
  const std::string r = "u1,v1,watch,1,USA,2025-01-01 00:00:00\n";
  IngestStats st = ingest("\n" + h + r);
  CHECK(st.header_lines == 1);
  CHECK(st.rows_valid == 1);
  CHECK(st.blank_lines == 1);
  st = ingest(r + h);  // a header-like line later is a bad row
  CHECK(st.header_lines == 0);
  CHECK(rejected(st, Reject::NonNumericValue) == 1);
  st = ingest("USERID , VideoId,a,b,c,d\n" + r);
  CHECK(st.header_lines == 1);
  st = ingest(r);  // no header
  CHECK(st.header_lines == 0);
  CHECK(st.rows_valid == 1);
}

TEST_CASE("line endings, BOM, blank lines, missing final newline, NUL bytes", "[ingest]") {
  const std::string text = std::string("\xEF\xBB\xBFuserId,videoId,t,v,l,ts\r\n") +
                           "u1,v1,watch,1,USA,2025-01-01 00:00:00\r\n" + "\r\n" + "   \t \n" +
                           "u2,v1,watch,1,USA,2025-01-01 00:00:00\n" +
                           std::string("u3,v1,wa\0ch,1,USA,x\n", 20) + "u4,v2,like,2,USA,2025-01-01 00:00:00";
  Collect sink;
  const IngestStats st = ingest(text, {}, &sink);
  CHECK(st.lines == 7);
  CHECK(st.header_lines == 1);
  CHECK(st.blank_lines == 2);
  CHECK(st.rows_valid == 3);
  CHECK(rejected(st, Reject::BadTimestamp) == 1);
  CHECK(st.rows_malformed() == 1);
  REQUIRE(sink.rows.size() == 3);
  CHECK(sink.rows[2].user == "u4");
  CHECK(sink.rows[2].weight == 2.0);
  CHECK(st.value_sum == 4.0);
}

TEST_CASE("every line is accounted for exactly once", "[ingest]") {
  // Random mixes of good, bad, blank and quoted lines: the buckets add up.
  std::mt19937 rng(11);
  const char* pool[] = {"u1,v1,watch,1,USA,2025-01-01 00:00:00",
                        "u1,v1",
                        ",v,w,1,X,1",
                        "\"a,b\",v,w,2,\"X,Y\",3",
                        "",
                        "u,v,w,zz,X,1",
                        "u,v,w,1,X,1,9",
                        "u,v,w,inf,X,1",
                        "u,,w,1,X,1",
                        "u,v,w,1,X,never"};
  std::string text;
  for (int i = 0; i < 5000; ++i) text += std::string(pool[rng() % 10]) + (rng() % 3 ? "\n" : "\r\n");
  const IngestStats st = ingest(text);
  CHECK(st.lines == 5000);
  CHECK(st.blank_lines + st.header_lines + st.rows_valid + st.rows_malformed() == st.lines);
}

TEST_CASE("weights per type and ignored types", "[ingest]") {
  const std::string text =
      "u1,v1,watch,1,USA,1\n"
      "u1,v1,like,2,USA,2\n"
      "u1,v2,complete,3,USA,3\n"
      "u2,v2,share,7,USA,4\n";
  IngestOptions opt;
  opt.type_weights["like"] = 5;
  opt.ignore_types.insert("complete");
  Collect sink;
  const IngestStats st = ingest(text, opt, &sink);
  CHECK(st.rows_valid == 4);
  CHECK(st.rows_ignored == 1);
  REQUIRE(sink.rows.size() == 3);
  CHECK(sink.rows[0].weight == 1);
  CHECK(sink.rows[1].weight == 5);
  CHECK(sink.rows[2].weight == 7);  // no override: the row's own value
  CHECK(st.value_sum == 13);
}

TEST_CASE("rejects are written as file:line, reason, original text", "[ingest]") {
  std::ostringstream rej;
  IngestOptions opt;
  opt.rejects = &rej;
  const IngestStats st = ingest("u1,v1,watch,1,USA,1\nbad\r\n\nu1,v1,watch,abc,USA,1\n", opt);
  CHECK(st.rows_malformed() == 2);
  CHECK(rej.str() == "t.csv:2\ttoo_few_fields\tbad\nt.csv:4\tnon_numeric_value\tu1,v1,watch,abc,USA,1\n");
}

TEST_CASE("strict mode stops at the first bad row naming file, line and reason", "[ingest]") {
  IngestOptions opt;
  opt.strict = true;
  CHECK_THROWS_WITH(ingest("u1,v1,watch,1,USA,1\nu1,v1,watch,1,USA,soon\n", opt),
                    Catch::Contains("t.csv:2: bad_timestamp"));
  CHECK_NOTHROW(ingest("u1,v1,watch,1,USA,1\n", opt));
}

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
  // the bytes that matter (comma, quote, blanks, CR), many of them valid rows.
  std::mt19937 rng(11);
  const std::string alphabet = ",,,,\"  \t\rab1-:";
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

TEST_CASE("gzip input is detected and inflated; corrupt gzip is an error", "[ingest]") {
  test::TempDir dir;
  const std::string text = "userId,videoId,t,v,l,ts\nu1,v1,watch,1,USA,1\nu2,v1,like,2,USA,2\n";
  const std::string gz = dir.file("log.csv.gz");
  {
    gzFile f = gzopen(gz.c_str(), "wb");
    gzwrite(f, text.data(), unsigned(text.size()));
    gzclose(f);
  }
  IngestOptions opt;
  opt.progress = false;
  Collect sink;
  IngestStats st;
  ingest_file(gz, opt, sink, st);
  CHECK(st.rows_valid == 2);
  CHECK(st.value_sum == 3);

  const std::string whole = test::read_text(gz);
  const std::string cut = dir.file("cut.csv.gz");
  test::write_text(cut, whole.substr(0, whole.size() - 12));
  IngestStats st2;
  CHECK_THROWS_AS(ingest_file(cut, opt, sink, st2), IoError);
  CHECK_THROWS_WITH(ingest_file(dir.file("missing.csv"), opt, sink, st2), Catch::Contains("missing.csv"));
}
