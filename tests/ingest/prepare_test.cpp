// SPDX-License-Identifier: MIT
#include "vidrec/ingest/prepare.hpp"

#include <catch2/catch.hpp>
#include <fstream>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"

using namespace vidrec;

namespace {
const char* kLog =
    "userId,videoId,interactionType,interactionValue,location,timestamp\n"
    "u1,v1,watch,1,USA,2025-01-01 10:00:00\n"
    "u1,v1,like,2,USA,2025-01-01 10:05:00\n"
    "u2,v1,watch,1,IND,2025-01-02 10:00:00\n"
    "u2,v2,complete,3,IND,2025-01-02 11:00:00\n"
    "u3,v2,watch,abc,IND,2025-01-02 11:00:00\n";

PrepareConfig config(const test::TempDir& dir) {
  test::write_text(dir.file("log.csv"), kLog);
  PrepareConfig c;
  c.inputs = {dir.file("log.csv")};
  c.output = dir.file("out.vrd");
  c.summary_json_path = dir.file("summary.json");
  c.progress = false;
  return c;
}
}  // namespace

TEST_CASE("prepare writes the dataset and a summary with every count", "[prepare]") {
  test::TempDir dir;
  const PrepareReport rep = run_prepare(config(dir));
  CHECK(rep.written);
  const auto j = nlohmann::json::parse(test::read_text(dir.file("summary.json")));
  CHECK(j["rows_valid"] == 4);
  CHECK(j["rows_malformed"] == 1);
  CHECK(j["malformed_by_reason"]["non_numeric_value"] == 1);
  CHECK(j["malformed_by_reason"].size() == 8);
  CHECK(j["users"] == 2);
  CHECK(j["videos"] == 2);
  CHECK(j["pairs"] == 3);
  CHECK(j["value_sum"] == 7);
  CHECK(j["value_sum"].is_number_integer());
  const Dataset ds = Dataset::open(dir.file("out.vrd"));
  CHECK(ds.nnz() == 3);
  CHECK(ds.provenance()["counts"]["rows_valid"] == 4);
}

TEST_CASE("a reject rate above the limit fails and writes no dataset", "[prepare]") {
  test::TempDir dir;
  PrepareConfig c = config(dir);
  c.max_reject_rate = 0.1;  // 1 of 5 rows is 0.2
  CHECK_THROWS_WITH(run_prepare(c),
                    Catch::Contains("above --max-reject-rate") && Catch::Contains("not written"));
  CHECK_FALSE(std::ifstream(c.output).good());
  const auto j = nlohmann::json::parse(test::read_text(dir.file("summary.json")));
  CHECK(j["status"] == "failed");
  c.max_reject_rate = 0.2;
  CHECK_NOTHROW(run_prepare(c));
}

TEST_CASE("a run that leaves no interactions fails", "[prepare]") {
  test::TempDir dir;
  PrepareConfig c = config(dir);
  for (const char* t : {"watch", "like", "complete"}) c.ignore_types.insert(t);
  CHECK_THROWS_WITH(run_prepare(c), Catch::Contains("no interactions left"));
  test::write_text(dir.file("header.csv"),
                   "userId,videoId,interactionType,interactionValue,location,timestamp\n");
  c.ignore_types.clear();
  c.inputs = {dir.file("header.csv")};
  CHECK_THROWS_WITH(run_prepare(c), Catch::Contains("no valid interaction rows"));
}

TEST_CASE("prepare options are validated with the rule in the message", "[prepare]") {
  PrepareConfig c;
  c.output = "x.vrd";
  CHECK_THROWS_WITH(add_type_weight(c, "like"), Catch::Contains("TYPE=W"));
  CHECK_THROWS_WITH(add_type_weight(c, "like=abc"), Catch::Contains("finite number"));
  CHECK_THROWS_WITH(add_type_weight(c, "like=inf"), Catch::Contains("finite number"));
  CHECK_THROWS_WITH(add_type_weight(c, "like=1e39"), Catch::Contains("float32"));  // stored as inf
  CHECK_THROWS_WITH(add_type_weight(c, "like=-3.5e38"), Catch::Contains("float32"));
  add_type_weight(c, "like=3e38");
  CHECK_THROWS_AS(add_type_weight(c, "=2"), ConfigError);
  add_type_weight(c, "like=2.5");
  CHECK(c.type_weights.at("like") == 2.5);
  c.ignore_types.insert("like");
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("both weighted and ignored"));
  c.ignore_types.clear();
  c.max_reject_rate = 1.5;
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("between 0 and 1"));
  c.max_reject_rate.reset();
  c.inputs = {"-", "-"};
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("only once"));
  c.inputs.clear();
  c.output.clear();
  CHECK_THROWS_AS(c.validate(), ConfigError);
}

TEST_CASE("an unwritable output fails before reading the input", "[prepare]") {
  test::TempDir dir;
  PrepareConfig c = config(dir);
  c.inputs = {dir.file("does-not-exist.csv")};
  c.output = dir.file("no/such/dir/out.vrd");
  CHECK_THROWS_WITH(run_prepare(c), Catch::Contains("no/such/dir"));
}

// A pair's rows are each within float32, their sum is not: the pair is
// dropped and the summary says so (the rows stay counted as valid).
TEST_CASE("pairs whose summed weight overflows float32 are counted in the summary", "[prepare]") {
  test::TempDir dir;
  PrepareConfig c = config(dir);
  test::write_text(dir.file("big.csv"),
                   "u1,v1,watch,3e38,USA,1\nu1,v1,watch,3e38,USA,2\nu1,v2,watch,1,USA,3\n"
                   "u2,v3,watch,1e39,USA,4\nu2,v2,watch,-1e39,USA,5\nu2,v2,watch,2,USA,6\n");
  c.inputs = {dir.file("big.csv")};
  const PrepareReport rep = run_prepare(c);
  CHECK(rep.prune.overflow_pairs == 1);
  CHECK(rep.prune.overflow_events == 2);
  CHECK(rep.pairs == 2);
  const auto j = nlohmann::json::parse(test::read_text(dir.file("summary.json")));
  CHECK(j["weight_overflow"]["pairs"] == 1);
  CHECK(j["weight_overflow"]["events"] == 2);
  CHECK(j["malformed_by_reason"]["non_finite_value"] == 2);
  CHECK(j["rows_valid"] == 4);
  CHECK(j["users"] == 2);
  CHECK(j["videos"] == 1);  // v1 (only in the dropped pair) went with it, v3's row was rejected
  CHECK(rep.to_text().find("weight overflow: 1 pairs (2 events) dropped") != std::string::npos);
  const Dataset ds = Dataset::open(c.output);
  CHECK(ds.provenance()["counts"]["weight_overflow"]["pairs"] == 1);
}

// Paths are bytes; JSON must be UTF-8. The run must not fail after its work
// when provenance holds such a path.
TEST_CASE("an input path that is not UTF-8 does not fail the run", "[prepare]") {
  test::TempDir dir;
  PrepareConfig c = config(dir);
  const std::string odd = dir.file("log\xFF\xC3.csv");
  test::write_text(odd, kLog);
  c.inputs = {odd};
  c.output = dir.file("out\xFE.vrd");
  const PrepareReport rep = run_prepare(c);
  CHECK(rep.written);
  const Dataset ds = Dataset::open(c.output);
  const std::string recorded = ds.provenance()["inputs"][0].get<std::string>();
  CHECK(recorded.find("log\xEF\xBF\xBD\xEF\xBF\xBD.csv") != std::string::npos);  // U+FFFD each
}

TEST_CASE("negative values (dislikes) are valid rows, summed as usual", "[prepare][location]") {
  test::TempDir dir;
  test::write_text(dir.file("log.csv"),
                   "u1,v1,watch,1,FR,1\nu1,v1,dislike,-3,FR,2\nu1,v2,skip,-0.5,DE,3\nu2,v1,like,2,,4\n");
  PrepareConfig c;
  c.inputs = {dir.file("log.csv")};
  c.output = dir.file("out.vrd");
  c.progress = false;
  const PrepareReport rep = run_prepare(c);
  CHECK(rep.ingest.rows_valid == 4);
  CHECK(rep.ingest.rows_malformed() == 0);
  CHECK(rep.ingest.value_sum == -0.5);
  const Dataset ds = Dataset::open(dir.file("out.vrd"));
  REQUIRE(ds.nnz() == 3);
  const CsrView m = ds.user_items();
  CHECK(std::vector<float>(m.values, m.values + 3) == std::vector<float>{-2.0f, -0.5f, 2.0f});
  REQUIRE(ds.n_locations() == 1);  // u1: FR (2 rows) over DE (1); u2: none
  CHECK(ds.location_id(0) == "FR");
  CHECK(ds.user_location(0) == 0);
  CHECK(ds.user_location(1) == kNoLocation);
}
