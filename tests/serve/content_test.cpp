// SPDX-License-Identifier: MIT
// Content-Type and Accept (RFC 9110 section 12.5.1's examples and rules),
// and the line bodies a SageMaker batch transform sends.
#include "vidrec/serve/content.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "vidrec/base/errors.hpp"
#include "vidrec/serve/requests.hpp"

using namespace vidrec;

namespace {
constexpr auto J = MediaType::Json, L = MediaType::JsonLines, C = MediaType::Csv;
std::optional<MediaType> pick(std::string_view accept) { return reply_type(accept, {J, L, C}); }
}  // namespace

TEST_CASE("content: request types by name, any case, parameters ignored", "[serve][content]") {
  CHECK(request_type("application/json") == J);
  CHECK(request_type(" Application/JSON ; charset=utf-8") == J);
  for (const char* lines : {"application/jsonlines", "application/x-jsonlines", "application/jsonl",
                            "application/x-ndjson", "APPLICATION/JSONLINES;charset=UTF-8"})
    CHECK(request_type(lines) == L);
  CHECK(request_type("text/csv") == C);
  CHECK(request_type("text/csv; header=present; charset=utf-8") == C);
  for (const char* other : {"", "text/plain", "application/json-seq", "text/csvx", "json", "application/*"})
    CHECK_FALSE(request_type(other).has_value());
}

TEST_CASE("content: Accept with lists, wildcards and q-values", "[serve][content]") {
  CHECK(pick("") == J);  // none sent
  CHECK(pick("*/*") == J);
  CHECK(pick("text/csv") == C);
  CHECK(pick("application/jsonlines") == L);
  CHECK(pick("application/x-jsonlines") == L);
  CHECK(pick("text/*") == C);
  CHECK(pick("application/*") == J);
  // Higher q wins, whatever the order.
  CHECK(pick("application/json;q=0.5, text/csv") == C);
  CHECK(pick("text/csv;q=0.2,application/jsonlines;q=0.9") == L);
  CHECK(pick("text/csv; q=1.0, application/json ; q=0.999") == C);
  // Equal q: the first listed.
  CHECK(pick("text/csv, application/json") == C);
  CHECK(pick("application/jsonlines, text/csv") == L);
  // The most specific range decides a type's q (RFC 9110's example).
  CHECK(pick("*/*;q=0.1, application/json;q=0") == L);
  CHECK(pick("text/*;q=0.3, text/csv;q=0.7, */*;q=0.5") == C);
  CHECK_FALSE(pick("text/*, text/csv;q=0").has_value());  // csv refused; json never offered by the header
  // q=0 refuses; nothing else offered: none.
  CHECK_FALSE(pick("text/csv;q=0").has_value());
  CHECK_FALSE(pick("text/html, image/png").has_value());
  CHECK_FALSE(pick("*/*;q=0").has_value());
  // Malformed ranges are ignored, not taken as */*.
  CHECK_FALSE(pick("text/csv;q=2").has_value());
  CHECK_FALSE(pick("text/csv;q=abc, garbage").has_value());
  CHECK(pick("text/csv;q=1.0001, application/json;q=0.1") == J);
  CHECK(pick(" , ,text/csv") == C);
  // Other parameters are not q.
  CHECK(pick("application/json;charset=utf-8;q=0.4, text/csv;level=1;q=0.5") == C);
  // Only what the endpoint offers.
  CHECK_FALSE(reply_type("text/csv", {J}).has_value());
  CHECK(reply_type("text/csv, */*;q=0.1", {J}) == J);
}

TEST_CASE("content: JSON Lines bodies, one request a line", "[serve][content]") {
  const auto invs = parse_jsonlines("{\"user_id\":\"a\",\"k\":2}\r\n\n  \r\n{\"user_id\":\"b\"}");
  REQUIRE(invs.size() == 2);
  CHECK(invs[0].user_id == "a");
  CHECK(invs[0].k == 2);
  CHECK(invs[1].user_id == "b");
  CHECK(invs[1].k == 10);
  CHECK_THROWS_WITH(parse_jsonlines("{\"user_id\":\"a\"}\n{\"user_id\":7}\n"),
                    "line 2: user_id is required (a string)");
  CHECK_THROWS_WITH(parse_jsonlines("\n\n{\"user_id\":\"a\"\n"), Catch::StartsWith("line 3: malformed JSON"));
  CHECK_THROWS_WITH(parse_jsonlines("[1]\n"), "line 1: the request must be a JSON object");
  CHECK_THROWS_WITH(parse_jsonlines("{\"user_id\":\"a\",\"k\":100000}"),
                    "line 1: k must be an integer between 1 and 10000, got 100000");
  CHECK_THROWS_WITH(parse_jsonlines("\r\n \n"), "the body holds no request (only blank lines)");
  CHECK_THROWS_WITH(parse_jsonlines(""), "the body holds no request (only blank lines)");
  std::string many;
  for (size_t i = 0; i <= kMaxInstances; ++i) many += "{\"user_id\":\"u\"}\n";
  CHECK_THROWS_WITH(parse_jsonlines(many), "a body must hold at most 10000 request lines");
}

TEST_CASE("content: CSV bodies, one user id a line", "[serve][content]") {
  const auto invs = parse_csv_users("userId\r\nu1\r\n\r\n  u2 \n\"x,y\"\n\"say \"\"hi\"\"\"\n", 3);
  REQUIRE(invs.size() == 4);
  CHECK(invs[0].user_id == "u1");
  CHECK(invs[1].user_id == "u2");
  CHECK(invs[2].user_id == "x,y");
  CHECK(invs[3].user_id == "say \"hi\"");
  for (const Invocation& i : invs) CHECK(i.k == 3);
  CHECK(parse_csv_users("USER_ID\nu1", 10).size() == 1);
  CHECK(parse_csv_users("u1\nuserId", 10).size() == 2);  // a header only on the first line
  CHECK_THROWS_WITH(parse_csv_users("u1\nu2,5\n", 10),
                    "line 2: expected one user id (quote an id that holds a comma or quote), got 'u2,5'");
  CHECK_THROWS_WITH(parse_csv_users("\"u1\n", 10), "line 1: unterminated quoted user id, got '\"u1'");
  CHECK_THROWS_WITH(parse_csv_users("\"u1\"x\n", 10),
                    "line 1: expected one user id (nothing after the closing quote), got '\"u1\"x'");
  CHECK_THROWS_WITH(parse_csv_users("u1\n\"\"\n", 10), "line 2: the user id must not be empty");
  CHECK_THROWS_WITH(parse_csv_users("userId\n", 10), "the body holds no user id (only a header)");
  CHECK_THROWS_WITH(parse_csv_users("\n", 10), "the body holds no request (only blank lines)");
}

TEST_CASE("content: k from a query string", "[serve][content]") {
  CHECK(parse_k_text("1") == 1);
  CHECK(parse_k_text("10000") == 10000);
  for (const char* bad : {"", "0", "10001", "-1", "+5", "5x", " 5", "99999999999999999999999"})
    CHECK_THROWS_WITH(parse_k_text(bad),
                      Catch::StartsWith("the query parameter k must be an integer between 1 "
                                        "and 10000, got '"));
}
