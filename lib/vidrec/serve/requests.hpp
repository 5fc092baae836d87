// SPDX-License-Identifier: MIT
// The body of an /invocations (or /similar) request, parsed and validated:
// one instance or a batch. Every rule broken is an InputError naming the
// field and the rule, which the API answers with 400.
#pragma once
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vidrec {

// Most results any request may ask for: bounds the reply size and the work.
constexpr uint32_t kMaxK = 10000;
// Most instances in one batch request.
constexpr size_t kMaxInstances = 10000;
// Deepest nesting of arrays and objects a body may have (a real request
// needs 4). Checked while parsing: the parser's own bookkeeping grows with
// the depth, and 80,000 levels fit in 160 KB.
constexpr size_t kMaxJsonDepth = 32;
// Largest |history[].value| accepted, and |sum| of one video's values: fold-in
// stays exact (see serving_model.hpp).
constexpr double kMaxHistoryValue = 1e9;
// Longest "location" accepted, in bytes: far beyond a country or region
// code, short enough that a lookup costs nothing.
constexpr size_t kMaxLocationBytes = 256;

// Most contributions one explained recommendation lists ("explain_n").
constexpr uint32_t kMaxExplainN = 1000;

struct HistoryItem {
  std::string video_id;
  double value = 1.0;
};

// One user's request ({"user_id":...} or an element of "instances").
struct Invocation {
  std::string user_id;
  uint32_t k = 10;
  bool include_seen = false;
  std::vector<std::string> exclude;
  std::vector<HistoryItem> history;
  bool has_history = false;
  std::string location;  // for a user without a profile (recommend.hpp); empty = none
  bool explain = false;  // "because" lists (explain/explain.hpp) of explain_n videos
  uint32_t explain_n = 3;
  uint32_t ef = 0;       // "ef": the ANN index's search breadth, 1..kMaxEf (0 = default)
};

// A user value for an error message: scalars as JSON cut to a few dozen
// characters, arrays and objects by kind only (never a dump of their contents).
std::string shown(const nlohmann::json& v);

// Bodies are read without a DOM (request_fields.hpp): the whole body is
// parsed first, so bad JSON (or nesting deeper than kMaxJsonDepth, or a
// number out of double's range) is the error even when a field before it
// breaks a rule; then the fields are checked in a fixed order, the first
// rule broken being the InputError. Unknown fields are ignored; a field
// given twice counts with its last value.

// Parse a whole /invocations body: one instance, or a batch (batch = true).
std::vector<Invocation> parse_invocations(std::string_view body, bool& batch);

// A /similar body: exactly one of "video_id" (similar videos) or "user_id"
// (similar users), a string; "k" (1..kMaxK), "ef" (1..kMaxEf) and, with
// video_id only, "exclude" (video ids) as in /invocations.
struct SimilarRequest {
  bool users = false;
  std::string id;
  std::optional<uint32_t> k, ef;
  std::optional<std::vector<std::string>> exclude;
};
SimilarRequest parse_similar(std::string_view body);

// The line bodies (SageMaker batch transform's SplitType=Line sends one or
// many lines): lines end with LF or CRLF, blank lines are skipped, at most
// kMaxInstances lines hold a request, and none is an InputError. Any bad
// line fails the whole body, the message naming it ("line 3: ..."): a
// reply must hold one answer per request line, in order.
// JSON Lines: one request object per line, as an element of "instances".
std::vector<Invocation> parse_jsonlines(std::string_view body);
// CSV: one user id per line, a CSV field (quoted when it holds a comma, a
// quote or spaces at its ends; "" inside quotes is a quote); a first line
// userId or user_id (any case) is a header. Every request asks for k.
std::vector<Invocation> parse_csv_users(std::string_view body, uint32_t k);
// The k of a query string (?k=): InputError unless a decimal 1..kMaxK.
uint32_t parse_k_text(std::string_view text);

}  // namespace vidrec
