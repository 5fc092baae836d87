// SPDX-License-Identifier: MIT
// Logs read by header name (columns.hpp), --columns, delimiters, and what a
// run without a valid row says.
#include "vidrec/ingest/columns.hpp"

#include <catch2/catch.hpp>
#include <sstream>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/ingest/ingest.hpp"
#include "vidrec/ingest/prepare.hpp"

using namespace vidrec;

namespace {

struct Collect : RowSink {
  std::vector<std::string> rows;  // "user video type weight location ts"
  void add(const Row& r, double w) override {
    std::ostringstream o;
    o << r.user << ' ' << r.video << ' ' << r.type << ' ' << w << ' ' << r.location << ' ' << r.timestamp;
    rows.push_back(o.str());
  }
};

std::vector<std::string> rows_of(const std::string& text, IngestOptions opt = {},
                                 IngestStats* stats = nullptr) {
  Collect sink;
  IngestStats st;
  opt.progress = false;
  ingest_buffer("t.csv", text, opt, sink, st);
  CHECK(st.lines == st.blank_lines + st.header_lines + st.rows_valid + st.rows_malformed());
  if (stats) *stats = st;
  return sink.rows;
}

const std::vector<std::string> kWant = {"u1 v1 like 2 USA 1735726800", "u2 v9 watch 1  1735726860"};

std::optional<ColumnMap> header(std::vector<std::string_view> f) { return header_map(f.data(), f.size()); }

}  // namespace

TEST_CASE("column names match case-insensitively and through aliases", "[ingest][columns]") {
  for (const char* n : {"userId", "user_id", "USER", "User-Id", "user id"})
    CHECK(column_for_name(n) == Column::User);
  for (const char* n : {"videoId", "video_id", "itemId", "ITEM_ID", "video", "item"})
    CHECK(column_for_name(n) == Column::Video);
  for (const char* n : {"interactionType", "interaction_type", "type", "Event"})
    CHECK(column_for_name(n) == Column::Type);
  for (const char* n : {"interactionValue", "interaction_value", "value"})
    CHECK(column_for_name(n) == Column::Value);
  CHECK(column_for_name("Location") == Column::Location);
  for (const char* n : {"timestamp", "time", "TS"}) CHECK(column_for_name(n) == Column::Time);
  for (const char* n : {"", "uid", "users", "u1", "2025-01-01 10:20:00", "weight"})
    CHECK_FALSE(column_for_name(n));
}

TEST_CASE("a header maps columns in any order and ignores extra ones", "[ingest][columns]") {
  const auto m = header({"ts", "extra", "item_id", "USER_ID", "value", "event", "country"});
  REQUIRE(m);
  CHECK(m->width == 7);
  CHECK(m->at == std::array<int, kColumns>{3, 2, 5, 4, -1, 0});
  CHECK_FALSE(m->has(Column::Location));
  CHECK_FALSE(m->standard());
  CHECK(header({"userId", "videoId", "interactionType", "interactionValue", "location", "timestamp"})
            ->standard());
  // One known name is not a header: a data row, read in order.
  CHECK_FALSE(header({"u1", "video", "watch", "1", "USA", "1735726800"}));
  CHECK_FALSE(header({"a", "b"}));
}

TEST_CASE("a header without a required column names it and what it found", "[ingest][columns]") {
  CHECK_THROWS_AS(header({"user", "video", "type", "location", "time"}), InputError);
  CHECK_THROWS_WITH(header({"user", "video", "type", "location", "time"}),
                    Catch::Contains("no value column (interactionValue/value)") &&
                        Catch::Contains("found 'user,video,type,location,time'"));
  CHECK_THROWS_WITH(header({"customer", "videoId", "value", "timestamp"}), Catch::Contains("no user column"));
  CHECK_THROWS_WITH(header({"user", "video", "value"}),
                    Catch::Contains("no time column (timestamp/time/ts)"));
  CHECK_THROWS_WITH(header({"user", "video", "item", "value", "ts"}),
                    Catch::Contains("column video appears twice (fields 2 and 3)"));
  // type and location may be absent.
  const auto m = header({"user", "video", "value", "ts"});
  REQUIRE(m);
  CHECK_FALSE(m->has(Column::Type));
}

TEST_CASE("parse_columns takes names in any order with aliases and - to skip and refuses malformed lists",
          "[ingest][columns]") {
  const ColumnMap m = parse_columns("video,user,-,time,value");
  CHECK(m.width == 5);
  CHECK(m.at == std::array<int, kColumns>{1, 0, -1, 4, -1, 3});
  CHECK(parse_columns("user,video,type,value,location,time").standard());
  CHECK(parse_columns("userId,videoId,interactionType,interactionValue,location,timestamp").standard());
  CHECK_THROWS_AS(parse_columns("user,video,valu,time"), ConfigError);
  CHECK_THROWS_WITH(parse_columns("user,video,valu,time"), Catch::Contains("unknown column 'valu'"));
  CHECK_THROWS_WITH(parse_columns("user,video,time"), Catch::Contains("no value column"));
  CHECK_THROWS_WITH(parse_columns("user,user,video,value,time"), Catch::Contains("user appears twice"));
  CHECK_THROWS_WITH(parse_columns(""), Catch::Contains("unknown column ''"));
  CHECK_THROWS_WITH(parse_columns("user,,video,value,time"), Catch::Contains("unknown column ''"));
}

TEST_CASE("parse_delimiter takes comma and semicolon and pipe and the spellings of tab",
          "[ingest][columns]") {
  for (const char* t : {"\t", "\\t", "tab", "TAB"}) CHECK(parse_delimiter(t) == '\t');
  CHECK(parse_delimiter(",") == ',');
  CHECK(parse_delimiter(";") == ';');
  CHECK(parse_delimiter("|") == '|');
  for (const char* bad : {"", "t", ",,", " ", "\\n"}) CHECK_THROWS_AS(parse_delimiter(bad), ConfigError);
  CHECK(delimiter_name('\t') == "'\\t'");
}

TEST_CASE("shuffled and extra columns and other delimiters give the same rows", "[ingest][columns]") {
  const std::string ordered =
      "userId,videoId,interactionType,interactionValue,location,timestamp\n"
      "u1,v1,like,2,USA,2025-01-01 10:20:00\n"
      "u2,v9,watch,1,,1735726860\n";
  CHECK(rows_of(ordered) == kWant);
  const std::string shuffled =
      "TS,Extra,item_id,User_Id,value,event,Location,more\n"
      "2025-01-01 10:20:00,x,v1,u1,2,like,USA,\n"
      "1735726860000,y,\"v9\",u2,1,watch,,z\n";
  CHECK(rows_of(shuffled) == kWant);
  // A first line that reads as a row is one, though two fields are names.
  CHECK(rows_of("u1,item,event,1,video,1735726800\n") ==
        std::vector<std::string>{"u1 item event 1 video 1735726800"});
  std::string tsv = ordered, semi = ordered;
  for (char& c : tsv) c = c == ',' ? '\t' : c;
  for (char& c : semi) c = c == ',' ? ';' : c;
  CHECK(rows_of(tsv) == kWant);  // detected from the header
  CHECK(rows_of(semi) == kWant);
  IngestOptions opt;
  opt.layout.delimiter = '\t';
  CHECK(rows_of(tsv, opt) == kWant);
  // Headerless: --columns with --delimiter.
  opt.layout.columns = parse_columns("time,video,user,value,type,location");
  CHECK(rows_of("2025-01-01 10:20:00\tv1\tu1\t2\tlike\tUSA\n1735726860\tv9\tu2\t1\twatch\t\n", opt) == kWant);
}

TEST_CASE("the columns option gives every input's order and headers are then skipped", "[ingest][columns]") {
  IngestOptions opt;
  opt.layout.columns = parse_columns("user,video,type,value,location,time");
  IngestStats st;
  // A header whose names do not fit (no value column) is read by position.
  CHECK(rows_of("userId,videoId,action,amount,country,when\nu1,v1,like,2,USA,1735726800\n", opt, &st) ==
        std::vector<std::string>{"u1 v1 like 2 USA 1735726800"});
  CHECK(st.header_lines == 1);
  opt.layout.columns = parse_columns("video,user,-,value,-,time");
  CHECK(rows_of("userId,videoId,a,b,c,d\nv1,u1,like,2,USA,1735726800\n", opt) ==
        std::vector<std::string>{"u1 v1  2  1735726800"});
}

TEST_CASE("rows are counted against the header's width", "[ingest][columns]") {
  IngestStats st;
  const auto rows = rows_of(
      "value,user,video,time\n"
      "1,u1,v1,1735726800\n"
      "1,u1,v1,1735726800,extra\n"
      "1,u1,v1\n"
      ",u1,v1,1735726800\n",
      {}, &st);
  CHECK(rows == std::vector<std::string>{"u1 v1  1  1735726800"});
  CHECK(st.header_lines == 1);
  CHECK(st.rejected[size_t(Reject::TooManyFields)] == 1);
  CHECK(st.rejected[size_t(Reject::TooFewFields)] == 1);
  CHECK(st.rejected[size_t(Reject::NonNumericValue)] == 1);
}

TEST_CASE("each input's header is read on its own and errors name file and line", "[ingest][columns]") {
  test::TempDir dir;
  test::write_text(dir.file("a.csv"),
                   "userId,videoId,interactionType,interactionValue,location,timestamp\n"
                   "u1,v1,like,2,USA,2025-01-01 10:20:00\n");
  test::write_text(dir.file("b.tsv"), "\n video\tts\tuser\tvalue\n v9\t1735726860\tu2\t1\n");
  test::write_text(dir.file("c.csv"), "u3,v3,watch,1,X,1735726800\n");  // headerless: the documented order
  IngestOptions opt;
  opt.progress = false;
  Collect sink;
  IngestStats st;
  for (const char* f : {"a.csv", "b.tsv", "c.csv"}) ingest_file(dir.file(f), opt, sink, st);
  CHECK(sink.rows == std::vector<std::string>{"u1 v1 like 2 USA 1735726800", "u2 v9  1  1735726860",
                                              "u3 v3 watch 1 X 1735726800"});
  CHECK(st.header_lines == 2);
  test::write_text(dir.file("bad.csv"), "\nuser,video,type,location,time\nu1,v1,like,USA,1735726800\n");
  CHECK_THROWS_WITH(ingest_file(dir.file("bad.csv"), opt, sink, st),
                    Catch::Contains("bad.csv:2: header line has no value column"));
  // --weight with no type column would match nothing.
  opt.type_weights["like"] = 2;
  CHECK_THROWS_WITH(ingest_file(dir.file("b.tsv"), opt, sink, st),
                    Catch::Contains("b.tsv:2: --weight and --ignore-type need an interactionType column"));
}

TEST_CASE("prepare without a valid row says why", "[prepare][columns]") {
  test::TempDir dir;
  PrepareConfig c;
  c.output = dir.file("out.vrd");
  c.progress = false;
  auto why = [&](const std::string& text) {
    test::write_text(dir.file("in"), text);
    c.inputs = {dir.file("in")};
    try {
      run_prepare(c);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string tsv = "u1\tv1\tlike\t2\tUSA\t1735726800\nu2\tv1\tlike\t2\tUSA\t1735726800\n";
  CHECK_THAT(why(tsv), Catch::Contains("every line has 1 field: is it tab-separated? (--delimiter '\\t')"));
  CHECK_THAT(why("u1;v1;like;2;USA;1735726800\n"),
             Catch::Contains("is it semicolon-separated? (--delimiter ';')"));
  CHECK_THAT(why("a\nb\n"), Catch::Contains("every line has 1 field") && !Catch::Contains("separated"));
  CHECK_THAT(why(""), Catch::Contains("no valid interaction rows in the input: it is empty"));
  CHECK_THAT(why("\n\nuser,video,value,time\n"), Catch::Contains("a header and no rows"));
  CHECK_THAT(why("u1,v1,like,2,USA,yesterday\nu1,,like,2,USA,1735726800\n"),
             Catch::Contains("all 2 rejected (empty_video 1, bad_timestamp 1; --rejects FILE lists them)"));
  CHECK_THAT(why(std::string("VRDS\x02\0\0\0\n", 9)),
             Catch::Contains("in:1: this is a vidrec dataset file, not a log"));
  CHECK_THAT(why(std::string("VRMD\x01\r\0\0", 8)),
             Catch::Contains("this is a vidrec model file, not a log"));
  c.layout.delimiter = '\t';
  CHECK_THAT(why(tsv), Catch::Contains("no error"));
  CHECK_THAT(why("u1,v1,like,2,USA,1735726800\n"),
             Catch::Contains("is it comma-separated? (--delimiter ',')"));
}
