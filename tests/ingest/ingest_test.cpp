// SPDX-License-Identifier: MIT
#include "vidrec/ingest/ingest.hpp"

#include <zlib.h>

#include <catch2/catch.hpp>
#include <random>
#include <sstream>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"

using namespace vidrec;

namespace {

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
  st = ingest("USERID , VideoId,Type,value, location ,TS\n" + r);
  CHECK(st.header_lines == 1);
  st = ingest(r);  // no header
  CHECK(st.header_lines == 0);
  CHECK(st.rows_valid == 1);
}

TEST_CASE("line endings, BOM, blank lines, missing final newline, NUL bytes", "[ingest]") {
  const std::string text = std::string("\xEF\xBB\xBFuserId,videoId,type,value,location,ts\r\n") +
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
                        "u,v,w,1,X,never",
                        "u\xC3,v,w,1,X,1",
                        "u\xC3\xA9,v,w,1,X\xFF,1",
                        "u\xC3\xA9,v,w,1,X,1",
                        "u,v,w,1e39,X,1"};
  std::string text;
  for (int i = 0; i < 5000; ++i) text += std::string(pool[rng() % 14]) + (rng() % 3 ? "\n" : "\r\n");
  const IngestStats st = ingest(text);
  CHECK(st.lines == 5000);
  CHECK(st.blank_lines + st.header_lines + st.rows_valid + st.rows_malformed() == st.lines);
  CHECK(rejected(st, Reject::InvalidUtf8) > 500);
  CHECK(rejected(st, Reject::NonFiniteValue) > 500);
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

TEST_CASE("gzip input is detected and inflated; corrupt gzip is an error", "[ingest]") {
  test::TempDir dir;
  const std::string text = "userId,videoId,type,value,location,ts\nu1,v1,watch,1,USA,1\nu2,v1,like,2,USA,2\n";
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

namespace {

std::string gzip_bytes(const std::string& text, const test::TempDir& dir) {
  const std::string path = dir.file("member.gz");
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, text.data(), unsigned(text.size()));
  gzclose(f);
  return test::read_text(path);
}

IngestStats ingest_path(const std::string& path, Collect* sink = nullptr) {
  IngestOptions opt;
  opt.progress = false;
  Collect local;
  IngestStats st;
  ingest_file(path, opt, sink ? *sink : local, st);
  return st;
}

}  // namespace

// gzread inflates concatenated members but drops whatever non-gzip bytes
// follow one: rows appended in plain text would vanish from every count.
TEST_CASE("concatenated gzip members are all read; non-gzip bytes after gzip are an error", "[ingest]") {
  test::TempDir dir;
  const std::string a = "userId,videoId,type,value,location,ts\nu1,v1,watch,1,USA,1\n",
                    b = "u2,v1,like,2,USA,2\n";
  const std::string ga = gzip_bytes(a, dir), gb = gzip_bytes(b, dir), gempty = gzip_bytes("", dir);

  test::write_text(dir.file("two.gz"), ga + gb);
  IngestStats st = ingest_path(dir.file("two.gz"));
  CHECK(st.lines == 3);
  CHECK(st.rows_valid == 2);
  CHECK(st.value_sum == 3);
  CHECK(st.bytes == ga.size() + gb.size());

  // An empty member between two, and many members (each refill boundary).
  std::string many = ga + gempty;
  for (int i = 0; i < 10000; ++i) many += gb;  // ~400 KB: members straddle the 256 KiB refills
  test::write_text(dir.file("many.gz"), many);
  st = ingest_path(dir.file("many.gz"));
  CHECK(st.rows_valid == 10001);
  CHECK(st.lines == 10002);

  for (const auto& [name, tail] : std::vector<std::pair<std::string, std::string>>{
           {"plain.gz", b},                       // plain rows appended to a compressed log
           {"nl.gz", "\n"},                       // one newline
           {"byte.gz", "\x1f"},                   // half a magic number
           {"zeros.gz", std::string(512, '\0')},  // block padding
       }) {
    INFO(name);
    test::write_text(dir.file(name), ga + tail);
    try {
      ingest_path(dir.file(name));
      FAIL("no error");
    } catch (const InputError& e) {
      const std::string what = e.what();
      CHECK_THAT(what, Catch::Contains(dir.file(name) + ": bytes after the gzip data (from byte " +
                                       std::to_string(ga.size()) + ") are not gzip"));
    }
  }
  // A second member that is damaged is corrupt gzip, not trailing data.
  test::write_text(dir.file("bad2.gz"), ga + gb.substr(0, 10) + std::string(20, 'x'));
  CHECK_THROWS_AS(ingest_path(dir.file("bad2.gz")), IoError);
  test::write_text(dir.file("cut2.gz"), ga + gb.substr(0, gb.size() - 4));
  CHECK_THROWS_WITH(ingest_path(dir.file("cut2.gz")), Catch::Contains("corrupt or truncated gzip"));

  // Plain input is passed through whole, even when it is tiny.
  test::write_text(dir.file("one.csv"), "\x1f");
  st = ingest_path(dir.file("one.csv"));
  CHECK(st.lines == 1);
  CHECK(st.rows_malformed() == 1);
  test::write_text(dir.file("empty.csv"), "");
  CHECK(ingest_path(dir.file("empty.csv")).lines == 0);
}

// We split lines on LF (CRLF's CR is dropped). A file with CR-only endings
// would be one line: taken as a header (or one reject) with every row lost.
TEST_CASE("CR-only line endings are an error naming the file and line", "[ingest]") {
  const std::string h = "userId,videoId,interactionType,interactionValue,location,timestamp";
  const std::string r1 = "u1,v1,watch,1,USA,1", r2 = "u2,v1,watch,1,USA,2";
  for (const auto& [text, line] : std::vector<std::pair<std::string, int>>{
           {h + "\r" + r1 + "\r" + r2 + "\r", 1},  // with a header
           {r1 + "\r" + r2 + "\r", 1},             // without
           {r1 + "\r" + r2, 1},                    // no final CR
           {"\n \n" + h + "\r" + r1 + "\r", 3},    // after blank lines: the first non-blank line
           {h + "\r\r\n" + r1 + "\r\n", 1},        // CR CR LF
       }) {
    INFO(text);
    CHECK_THROWS_WITH(ingest(text), Catch::Contains("t.csv:" + std::to_string(line) +
                                                    ": carriage return inside a line: CR-only line endings"));
  }
  // CRLF and a last line ending in a lone CR are fine.
  const IngestStats st = ingest(h + "\r\n" + r1 + "\r\n" + r2 + "\r");
  CHECK(st.rows_valid == 2);
  CHECK(st.header_lines == 1);
  // A CR inside a later line is data, as any other byte (here: a bad time).
  const IngestStats later = ingest(r1 + "\n" + r2 + "\rx\n");
  CHECK(later.rows_valid == 1);
  CHECK(rejected(later, Reject::BadTimestamp) == 1);
}

// Over a file next to another: the CR-only one must not pass as a header.
TEST_CASE("a CR-only file among others fails the run, the other counts stand", "[ingest]") {
  test::TempDir dir;
  test::write_text(dir.file("a.csv"), "u1,v1,watch,1,USA,1\n");
  test::write_text(dir.file("mac.csv"), "userId,videoId,type,value,location,ts\ru2,v1,watch,1,USA,2\r");
  Collect sink;
  IngestOptions opt;
  opt.progress = false;
  IngestStats st;
  ingest_file(dir.file("a.csv"), opt, sink, st);
  CHECK_THROWS_WITH(ingest_file(dir.file("mac.csv"), opt, sink, st),
                    Catch::Contains("mac.csv:1: carriage return"));
  CHECK(st.header_lines == 0);  // not passed off as a header
  CHECK(st.rows_valid == 1);    // a.csv's row
}
