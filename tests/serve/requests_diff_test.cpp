// SPDX-License-Identifier: MIT
// The SAX request reader (requests.hpp, request_fields.hpp) against the DOM
// code it replaced, kept here only as the reference: over generated valid
// and hostile bodies, both must give the same requests or the same error.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <unordered_map>

#include "vidrec/base/errors.hpp"
#include "vidrec/model/ann.hpp"
#include "vidrec/serve/requests.hpp"

using namespace vidrec;
using nlohmann::json;

namespace ref {

// ---- The DOM path as it was at 7131c1e (lib/vidrec/serve/requests.cpp, api.cpp) ----

class BoundedSax {
 public:
  explicit BoundedSax(json& root) : dom_(root, false) {}
  bool null() { return value() && dom_.null(); }
  bool boolean(bool v) { return value() && dom_.boolean(v); }
  bool number_integer(json::number_integer_t v) { return value() && dom_.number_integer(v); }
  bool number_unsigned(json::number_unsigned_t v) { return value() && dom_.number_unsigned(v); }
  bool number_float(json::number_float_t v, const json::string_t& s) { return value() && dom_.number_float(v, s); }
  bool string(json::string_t& v) { return value() && dom_.string(v); }
  bool binary(json::binary_t& v) { return value() && dom_.binary(v); }
  bool start_object(std::size_t n) { return open(false) && dom_.start_object(n); }
  bool key(json::string_t& k) {
    frames_[depth_ - 1].key = k;
    return dom_.key(k);
  }
  bool end_object() { return close() && dom_.end_object(); }
  bool start_array(std::size_t n) { return open(true) && dom_.start_array(n); }
  bool end_array() { return close() && dom_.end_array(); }
  bool parse_error(std::size_t, const std::string& token, const nlohmann::detail::exception& e) {
    if (e.id == 406)
      error_ = path(true) + " must be a finite number, got " + token.substr(0, 40);
    else
      error_ = std::string("malformed JSON: ") + e.what();
    if (error_.size() > 300) error_ = error_.substr(0, 300) + "...";
    return false;
  }
  const std::string& error() const { return error_; }

 private:
  struct Frame {
    bool array = false;
    size_t count = 0;
    std::string key;
  };
  bool value() {
    if (depth_ > 0 && frames_[depth_ - 1].array) ++frames_[depth_ - 1].count;
    return true;
  }
  bool open(bool array) {
    value();
    if (depth_ == kMaxJsonDepth) {
      error_ = "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels at " + path(false);
      return false;
    }
    Frame& f = frames_[depth_++];
    f.array = array;
    f.count = 0;
    return true;
  }
  bool close() {
    --depth_;
    return true;
  }
  std::string path(bool pending) const {
    std::string p;
    for (size_t i = 0; i < depth_; ++i) {
      const Frame& f = frames_[i];
      const bool last = i + 1 == depth_;
      if (f.array)
        p += "[" + std::to_string(f.count - (last && pending ? 0 : 1)) + "]";
      else
        p += (p.empty() ? "" : ".") + f.key.substr(0, 40);
    }
    return p.empty() ? "the top level" : p;
  }
  nlohmann::detail::json_sax_dom_parser<json> dom_;
  std::array<Frame, kMaxJsonDepth> frames_;
  size_t depth_ = 0;
  std::string error_;
};

json parse_body(std::string_view body) {
  json j;
  BoundedSax sax(j);
  if (!json::sax_parse(body.begin(), body.end(), &sax)) throw InputError(sax.error());
  return j;
}

uint32_t parse_bounded(const json& j, const std::string& name, uint32_t max) {
  const std::string rule = name + " must be an integer between 1 and " + std::to_string(max);
  if (!j.is_number_integer()) throw InputError(rule + ", got " + shown(j));
  const bool ok = j.is_number_unsigned() ? j.get<uint64_t>() >= 1 && j.get<uint64_t>() <= max
                                         : j.get<int64_t>() >= 1 && j.get<int64_t>() <= int64_t(max);
  if (!ok) throw InputError(rule + ", got " + shown(j));
  return uint32_t(j.get<uint64_t>());
}

std::vector<std::string> parse_ids(const json& j, const std::string& field) {
  if (!j.is_array()) throw InputError(field + " must be an array of video id strings");
  std::vector<std::string> ids;
  for (const auto& e : j) {
    if (!e.is_string()) throw InputError(field + " must be an array of video id strings, found " + shown(e));
    ids.push_back(e.get<std::string>());
  }
  return ids;
}

std::vector<HistoryItem> parse_history(const json& j, const std::string& field) {
  if (!j.is_array()) throw InputError(field + " must be an array of {\"videoId\":...,\"value\":...} objects");
  std::vector<HistoryItem> items;
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string at = field + "[" + std::to_string(i) + "]";
    const json& e = j[i];
    if (!e.is_object()) throw InputError(at + " must be an object with a string videoId");
    const auto id = e.find("videoId");
    if (id == e.end() || !id->is_string()) throw InputError(at + ".videoId is required (a string)");
    HistoryItem h{id->get<std::string>(), 1.0};
    if (const auto v = e.find("value"); v != e.end()) {
      if (!v->is_number() || !(std::abs(v->get<double>()) <= kMaxHistoryValue))
        throw InputError(at + ".value must be a number between -1e9 and 1e9, got " + shown(*v));
      h.value = v->get<double>();
    }
    items.push_back(std::move(h));
  }
  std::unordered_map<std::string_view, double> sums;
  for (const HistoryItem& h : items) sums[h.video_id] += h.value;
  for (const auto& [id, sum] : sums)
    if (!(std::abs(sum) <= kMaxHistoryValue))
      throw InputError(field + ": the values of videoId " + shown(std::string(id)) +
                       " must sum to between -1e9 and 1e9, got " + shown(sum));
  return items;
}

Invocation parse_invocation(const json& j, const std::string& where) {
  if (!j.is_object()) throw InputError((where.empty() ? "the request" : where) + " must be a JSON object");
  Invocation inv;
  const auto user = j.find("user_id");
  if (user == j.end() || !user->is_string()) throw InputError(where + "user_id is required (a string)");
  inv.user_id = user->get<std::string>();
  if (inv.user_id.empty()) throw InputError(where + "user_id must not be empty");
  if (const auto k = j.find("k"); k != j.end()) inv.k = parse_bounded(*k, where + "k", kMaxK);
  if (const auto e = j.find("ef"); e != j.end()) inv.ef = parse_bounded(*e, where + "ef", kMaxEf);
  if (const auto s = j.find("include_seen"); s != j.end()) {
    if (!s->is_boolean()) throw InputError(where + "include_seen must be true or false, got " + shown(*s));
    inv.include_seen = s->get<bool>();
  }
  if (const auto e = j.find("exclude"); e != j.end()) inv.exclude = parse_ids(*e, where + "exclude");
  if (const auto x = j.find("explain"); x != j.end()) {
    if (!x->is_boolean()) throw InputError(where + "explain must be true or false, got " + shown(*x));
    inv.explain = x->get<bool>();
  }
  if (const auto n = j.find("explain_n"); n != j.end()) {
    if (!n->is_number_integer() || n->get<int64_t>() < 1 || n->get<int64_t>() > int64_t(kMaxExplainN))
      throw InputError(where + "explain_n must be an integer 1.." + std::to_string(kMaxExplainN) + ", got " +
                       shown(*n));
    inv.explain_n = n->get<uint32_t>();
  }
  if (const auto l = j.find("location"); l != j.end()) {
    if (!l->is_string() || l->get_ref<const std::string&>().size() > kMaxLocationBytes)
      throw InputError(where + "location must be a string of at most " + std::to_string(kMaxLocationBytes) +
                       " bytes, got " + shown(*l));
    inv.location = l->get<std::string>();
  }
  if (const auto h = j.find("history"); h != j.end()) {
    inv.history = parse_history(*h, where + "history");
    inv.has_history = true;
  }
  return inv;
}

std::vector<Invocation> parse_invocations(std::string_view body, bool& batch) {
  const json j = parse_body(body);
  batch = j.is_object() && j.contains("instances");
  if (!batch) return {parse_invocation(j, "")};
  const json& list = j["instances"];
  if (!list.is_array()) throw InputError("instances must be an array of request objects");
  if (list.size() > kMaxInstances)
    throw InputError("instances must hold at most " + std::to_string(kMaxInstances) + " requests, got " +
                     std::to_string(list.size()));
  std::vector<Invocation> out;
  for (size_t i = 0; i < list.size(); ++i)
    out.push_back(parse_invocation(list[i], "instances[" + std::to_string(i) + "]."));
  return out;
}

// One JSON Lines line (line 1): the per-line part of parse_jsonlines.
std::vector<Invocation> parse_jsonline(std::string_view line) {
  const std::string where = "line 1: ";
  json j;
  try {
    j = parse_body(line);
  } catch (const InputError& e) {
    throw InputError(where + e.what());
  }
  if (!j.is_object()) throw InputError(where + "the request must be a JSON object");
  return {parse_invocation(j, where)};
}

// The parsing part of Api::similar.
SimilarRequest parse_similar(std::string_view body) {
  const json j = parse_body(body);
  if (!j.is_object()) throw InputError("the request must be a JSON object");
  const auto video_id = j.find("video_id"), user_id = j.find("user_id");
  const bool users = user_id != j.end();
  if (users == (video_id != j.end()))
    throw InputError("give exactly one of video_id (similar videos) or user_id (similar users)");
  const auto id = users ? user_id : video_id;
  if (!id->is_string()) throw InputError(std::string(users ? "user_id" : "video_id") + " must be a string");
  SimilarRequest r;
  r.users = users;
  if (const auto k = j.find("k"); k != j.end()) r.k = parse_bounded(*k, "k", kMaxK);
  if (const auto e = j.find("ef"); e != j.end()) r.ef = parse_bounded(*e, "ef", kMaxEf);
  if (const auto e = j.find("exclude"); e != j.end()) {
    if (users) throw InputError("exclude lists videos: not allowed with user_id");
    r.exclude = parse_ids(*e, "exclude");
  }
  r.id = id->get<std::string>();
  return r;
}

}  // namespace ref

namespace {

// What a parse gave, as text: the requests field by field, or the error.
std::string describe(const std::vector<Invocation>& invs) {
  std::string s;
  for (const Invocation& i : invs) {
    s += "{" + json(i.user_id).dump(-1, ' ', false, json::error_handler_t::replace) + " k" +
         std::to_string(i.k) + " ef" + std::to_string(i.ef) + " seen" + std::to_string(i.include_seen) +
         " explain" + std::to_string(i.explain) + "/" + std::to_string(i.explain_n) + " loc" +
         std::to_string(i.location.size()) + ":" + i.location + " excl";
    for (const auto& e : i.exclude) s += "[" + e + "]";
    s += " hist" + std::to_string(i.has_history);
    for (const auto& h : i.history) {
      uint64_t bits;
      std::memcpy(&bits, &h.value, sizeof bits);
      s += "[" + h.video_id + "=" + std::to_string(bits) + "]";
    }
    s += "}";
  }
  return s;
}

std::string describe(const SimilarRequest& r) {
  std::string s = std::to_string(r.users) + " " + r.id + " k" + (r.k ? std::to_string(*r.k) : "-") + " ef" +
                  (r.ef ? std::to_string(*r.ef) : "-") + " excl";
  if (r.exclude)
    for (const auto& e : *r.exclude) s += "[" + e + "]";
  else
    s += "-";
  return s;
}

template <class F>
std::string outcome(F f) {
  try {
    return "ok " + f();
  } catch (const InputError& e) {
    return std::string("error ") + e.what();
  }
}

// Values for any field: right, wrong-typed, out of range, odd numbers and strings.
const std::vector<std::string> kValues = {
    "null", "true", "false", "0", "1", "-1", "-0", "2", "2.5", "1.0", "1e3", "1E400", "-1e400", "1e-400",
    "18446744073709551615", "18446744073709551616", "9223372036854775807", "9223372036854775808",
    "-9223372036854775808", "-9223372036854775809", "10000", "10001", "100000", "100001", "1000", "1001",
    "4294967297", "1e9", "-1e9", "1000000001", "600000000", "-600000000", "0.000001", "\"\"", "\"3\"",
    "\"u1\"", "\"v1\"", "\"\\u00e9t\\u00e9\"", "\"\\ud83d\\ude00\"", "\"\\ud800\"", "\"\\udc00x\"",
    "\"a\\\"b\\\\c\\n\\t\\u0001\"", "\"\xc3\x28\"", "\"\xe2\x82\xac\"", "\"\xf0\x9f\x98\x80\"", "\"\xed\xa0\x80\"",
    "\"\x7f\"", "\"tab\there\"", "[]", "{}", "[1,2]", "[\"v1\",\"v2\"]", "[\"v1\",3]", "[[\"x\"],\"y\"]",
    "[\"v1\",{}]", "{\"a\":{\"b\":[]}}", "[{\"videoId\":\"v1\"}]", "[{\"videoId\":\"v1\",\"value\":2}]",
    "\"" + std::string(256, 'L') + "\"", "\"" + std::string(257, 'L') + "\"",
    "\"" + std::string(300, 'x') + "\"", "01", "1.", ".5", "+1", "NaN", "Infinity", "tru", "nul"};

const std::vector<std::string> kKeys = {"user_id", "video_id", "k",       "ef",      "include_seen",
                                        "explain", "explain_n", "location", "exclude", "history",
                                        "instances", "videoId", "value",   "x",       "user_id\\u0000",
                                        "USER_ID", ""};

struct Gen {
  std::mt19937_64 rng;
  explicit Gen(uint64_t seed) : rng(seed) {}
  size_t pick(size_t n) { return size_t(rng() % n); }
  bool chance(int percent) { return int(rng() % 100) < percent; }
  std::string ws() { return chance(85) ? "" : std::string(" \t\n\r").substr(pick(4), 1); }

  // Nesting of exactly `depth` levels (arrays and objects mixed).
  std::string deep(size_t depth) {
    std::string open, close;
    for (size_t i = 0; i < depth; ++i) {
      if (chance(50)) {
        open += "[";
        close = "]" + close;
      } else {
        open += "{\"d\":";
        close = "}" + close;
      }
    }
    return open + "0" + close;
  }
  std::string history_item(int level) {
    if (chance(10)) return value(level);
    std::string s = "{";
    const size_t n = pick(4);
    for (size_t i = 0; i < n; ++i) {
      if (i) s += ",";
      const size_t which = pick(10);
      const std::string key = which < 4 ? "videoId" : which < 8 ? "value" : "x";
      std::string v;
      if (key == "videoId")
        v = chance(80) ? "\"v" + std::to_string(pick(4)) + "\"" : value(level);
      else if (key == "value")
        v = chance(60) ? std::vector<std::string>{"1", "2.5", "-3", "1e9", "600000000", "-1e9", "0"}[pick(7)]
                       : value(level);
      else
        v = value(level);
      s += ws() + "\"" + key + "\"" + ws() + ":" + ws() + v + ws();
    }
    return s + "}";
  }
  std::string array_of(int level, int kind) {
    std::string s = "[";
    const size_t n = pick(5);
    for (size_t i = 0; i < n; ++i) {
      if (i) s += ",";
      s += ws();
      if (kind == 0)
        s += chance(85) ? "\"v" + std::to_string(pick(5)) + "\"" : value(level);
      else if (kind == 1)
        s += history_item(level);
      else
        s += object(level + 1, false);
      s += ws();
    }
    return s + "]";
  }
  std::string value(int level) {
    const size_t r = pick(100);
    if (r < 3) return deep(28 + pick(8) - size_t(level));
    if (r < 8 && level < 3) return object(level + 1, false);
    return kValues[pick(kValues.size())];
  }
  std::string field_value(const std::string& key, int level) {
    if (chance(30)) return value(level);
    if (key == "user_id" || key == "video_id") return "\"u" + std::to_string(pick(3)) + "\"";
    if (key == "k" || key == "ef") return std::to_string(pick(12));
    if (key == "explain_n") return std::to_string(pick(1003));
    if (key == "include_seen" || key == "explain") return chance(50) ? "true" : "false";
    if (key == "location") return "\"US\"";
    if (key == "exclude") return array_of(level, 0);
    if (key == "history") return array_of(level, 1);
    if (key == "instances") return array_of(level, 2);
    return value(level);
  }
  std::string object(int level, bool top) {
    std::string s = ws() + "{";
    const size_t n = pick(7);
    for (size_t i = 0; i < n; ++i) {
      if (i) s += ",";
      std::string key = chance(70) ? std::vector<std::string>{"user_id", "k", "ef", "exclude", "history",
                                                              "explain", "explain_n", "include_seen",
                                                              "location", "video_id"}[pick(10)]
                                   : kKeys[pick(kKeys.size())];
      if (top && chance(15)) key = "instances";
      s += ws() + "\"" + key + "\"" + ws() + ":" + ws() + field_value(key, level) + ws();
    }
    return s + "}" + ws();
  }
  std::string body() {
    const size_t r = pick(100);
    if (r < 5) return value(0);
    if (r < 25) return "{\"instances\":" + array_of(0, 2) + (chance(30) ? ",\"user_id\":7" : "") + "}";
    return object(0, true);
  }
};

void same_invocations(std::string_view body) {
  INFO("body: " << json(std::string(body)).dump(-1, ' ', false, json::error_handler_t::replace));
  bool b1 = false, b2 = false;
  const std::string want = outcome([&] { return describe(ref::parse_invocations(body, b1)); });
  const std::string got = outcome([&] { return describe(parse_invocations(body, b2)); });
  REQUIRE(got == want);
  if (want.rfind("ok", 0) == 0) REQUIRE(b1 == b2);
}

void same_similar(std::string_view body) {
  INFO("body: " << json(std::string(body)).dump(-1, ' ', false, json::error_handler_t::replace));
  REQUIRE(outcome([&] { return describe(parse_similar(body)); }) ==
          outcome([&] { return describe(ref::parse_similar(body)); }));
}

void same_jsonline(std::string_view line) {
  if (line.find_first_of("\r\n") != std::string_view::npos ||
      line.find_first_not_of(" \t") == std::string_view::npos)
    return;  // one request line only: the line splitting is unchanged
  INFO("line: " << json(std::string(line)).dump(-1, ' ', false, json::error_handler_t::replace));
  REQUIRE(outcome([&] { return describe(parse_jsonlines(line)); }) ==
          outcome([&] { return describe(ref::parse_jsonline(line)); }));
}

void same_everywhere(std::string_view body) {
  same_invocations(body);
  same_similar(body);
  same_jsonline(body);
}

}  // namespace

TEST_CASE("requests diff: generated bodies parse as the DOM code did", "[serve][requests_diff]") {
  Gen g(20261202);
  size_t ok = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string body = g.body();
    same_everywhere(body);
    bool batch = false;
    try {
      parse_invocations(body, batch);
      ++ok;
    } catch (const InputError&) {
    }
  }
  // The generator reaches both sides: valid requests and every kind of error.
  CHECK(ok > 1000);
  CHECK(ok < 19000);
}

TEST_CASE("requests diff: every truncation and byte change of valid bodies", "[serve][requests_diff]") {
  const std::vector<std::string> valid = {
      R"({"user_id":"u1","k":3,"ef":50,"include_seen":true,"exclude":["v1","v2"],"explain":true,"explain_n":2,"location":"US","history":[{"videoId":"v2","value":2.5},{"videoId":"v3"}]})",
      R"({"instances":[{"user_id":"a"},{"user_id":"b","include_seen":false,"exclude":["v1"],"history":[{"videoId":"v2","value":-1e9},{"videoId":"v2","value":1}]}]})",
      R"({"video_id":"v1","k":5,"ef":10,"exclude":["v\u00e9","\ud83d\ude00"]})",
      R"( { "user_id" : "u\"1\\" , "k" : 10000 , "x" : [ { "y" : null } , 1.5e3 ] } )",
      "{\"user_id\":\"\xc3\xa9\",\"location\":\"\xe2\x82\xac\"}"};
  Gen g(7);
  for (const std::string& body : valid) {
    for (size_t n = 0; n <= body.size(); ++n) same_everywhere(std::string_view(body).substr(0, n));
    for (int i = 0; i < 3000; ++i) {
      std::string m = body;
      const size_t at = g.pick(m.size());
      switch (g.pick(4)) {
        case 0: m[at] = char(g.pick(256)); break;
        case 1: m.erase(at, 1 + g.pick(3)); break;
        case 2: m.insert(at, 1, "{}[]\",:\\0e-.u"[g.pick(13)]); break;
        default: m.insert(at, m.substr(g.pick(m.size()), g.pick(12)));  // a piece repeated: duplicate keys
      }
      same_everywhere(m);
    }
  }
}

TEST_CASE("requests diff: limits, duplicates and nesting", "[serve][requests_diff]") {
  // Duplicate keys: the last counts, whatever the first held.
  for (const char* body : {R"({"user_id":7,"user_id":"u"})", R"({"user_id":"u","k":"x","k":4})",
                           R"({"user_id":"u","exclude":[1],"exclude":["v"]})",
                           R"({"user_id":"u","history":{},"history":[{"videoId":"a","videoId":3}]})",
                           R"({"instances":{},"instances":[{"user_id":"a"}]})",
                           R"({"instances":[{"user_id":"a"}],"instances":5})",
                           R"({"user_id":"u","history":[{"videoId":"a","value":1e9},{"videoId":"a","value":1}]})"})
    same_everywhere(body);
  // Nesting at and past the limit, in every field.
  for (size_t d = kMaxJsonDepth - 2; d <= kMaxJsonDepth + 2; ++d)
    for (const std::string field : {"x", "exclude", "history", "instances", "k"}) {
      std::string open, close;
      for (size_t i = 0; i < d; ++i) {
        open += i % 2 ? "[" : "{\"" + field + "\":";
        close = (i % 2 ? "]" : "}") + close;
      }
      same_everywhere(open + "1" + close);
      same_everywhere("{\"user_id\":\"u\",\"" + field + "\":" + open + "1" + close + "}");
    }
  // Around the batch limit.
  for (size_t n : {kMaxInstances, kMaxInstances + 1}) {
    std::string body = "{\"instances\":[";
    for (size_t i = 0; i < n; ++i) body += i ? ",{\"user_id\":\"u\"}" : "{\"user_id\":\"u\"}";
    same_invocations(body + "]}");
    same_invocations(body + ",{\"k\":1}]}");
  }
}
