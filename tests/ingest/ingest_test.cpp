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
