// SPDX-License-Identifier: MIT
#include "vidrec/serve/requests.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <functional>
#include <unordered_map>

#include "vidrec/base/errors.hpp"
#include "vidrec/model/ann.hpp"

namespace vidrec {

namespace {

// nlohmann's DOM builder behind a depth limit, tracking where it is so that
// an error can name the field ("instances[2].history[0].value").
class BoundedSax {
 public:
  using json = nlohmann::json;
  explicit BoundedSax(json& root) : dom_(root, false) {}

  bool null() { return value() && dom_.null(); }
  bool boolean(bool v) { return value() && dom_.boolean(v); }
  bool number_integer(json::number_integer_t v) { return value() && dom_.number_integer(v); }
  bool number_unsigned(json::number_unsigned_t v) { return value() && dom_.number_unsigned(v); }
  bool number_float(json::number_float_t v, const json::string_t& s) {
    return value() && dom_.number_float(v, s);
  }
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
    if (e.id == 406)  // a number beyond double's range, such as 1e400
      error_ = path(true) + " must be a finite number, got " + token.substr(0, 40);
    else
      error_ = std::string("malformed JSON: ") + e.what();
    if (error_.size() > 300) error_ = error_.substr(0, 300) + "...";  // e.what() quotes the last token
    return false;
  }
  const std::string& error() const { return error_; }

 private:
  struct Frame {
    bool array = false;
    size_t count = 0;  // elements begun (arrays)
    std::string key;   // the last key read (objects)
  };
  // A value begins: in an array, the next element.
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
  // The path to the value being read; `pending`: it has not begun yet.
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
  std::array<Frame, kMaxJsonDepth> frames_;  // no allocation per request
  size_t depth_ = 0;
  std::string error_;
};

}  // namespace

nlohmann::json parse_body(std::string_view body) {
  nlohmann::json j;
  BoundedSax sax(j);
  if (!nlohmann::json::sax_parse(body.begin(), body.end(), &sax)) throw InputError(sax.error());
  return j;
}

std::string shown(const nlohmann::json& v) {
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 40) s = s.substr(0, 40) + "...";
  return s;
}

uint32_t parse_k(const nlohmann::json& j, const std::string& where) {
  return parse_bounded(j, where + "k", kMaxK);
}

uint32_t parse_bounded(const nlohmann::json& j, const std::string& name, uint32_t max) {
  const std::string rule = name + " must be an integer between 1 and " + std::to_string(max);
  if (!j.is_number_integer()) throw InputError(rule + ", got " + shown(j));
  const bool ok = j.is_number_unsigned() ? j.get<uint64_t>() >= 1 && j.get<uint64_t>() <= max
                                         : j.get<int64_t>() >= 1 && j.get<int64_t>() <= int64_t(max);
  if (!ok) throw InputError(rule + ", got " + shown(j));
  return uint32_t(j.get<uint64_t>());
}

std::vector<std::string> parse_ids(const nlohmann::json& j, const std::string& field) {
  if (!j.is_array()) throw InputError(field + " must be an array of video id strings");
  std::vector<std::string> ids;
  ids.reserve(j.size());
  for (const auto& e : j) {
    if (!e.is_string()) throw InputError(field + " must be an array of video id strings, found " + shown(e));
    ids.push_back(e.get<std::string>());
  }
  return ids;
}

namespace {

std::vector<HistoryItem> parse_history(const nlohmann::json& j, const std::string& field) {
  if (!j.is_array()) throw InputError(field + " must be an array of {\"videoId\":...,\"value\":...} objects");
  std::vector<HistoryItem> items;
  items.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string at = field + "[" + std::to_string(i) + "]";
    const nlohmann::json& e = j[i];
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
  // The bound holds per video too, as fold-in sums a video's values.
  std::unordered_map<std::string_view, double> sums;
  for (const HistoryItem& h : items) sums[h.video_id] += h.value;
  for (const auto& [id, sum] : sums)
    if (!(std::abs(sum) <= kMaxHistoryValue))
      throw InputError(field + ": the values of videoId " + shown(std::string(id)) +
                       " must sum to between -1e9 and 1e9, got " + shown(sum));
  return items;
}

}  // namespace

Invocation parse_invocation(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw InputError((where.empty() ? "the request" : where) + " must be a JSON object");
  Invocation inv;
  const auto user = j.find("user_id");
  if (user == j.end() || !user->is_string()) throw InputError(where + "user_id is required (a string)");
  inv.user_id = user->get<std::string>();
  if (inv.user_id.empty()) throw InputError(where + "user_id must not be empty");
  if (const auto k = j.find("k"); k != j.end()) inv.k = parse_k(*k, where);
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
    // The parser has already refused strings that are not UTF-8.
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
  const nlohmann::json j = parse_body(body);
  batch = j.is_object() && j.contains("instances");
  if (!batch) return {parse_invocation(j)};
  const nlohmann::json& list = j["instances"];
  if (!list.is_array()) throw InputError("instances must be an array of request objects");
  if (list.size() > kMaxInstances)
    throw InputError("instances must hold at most " + std::to_string(kMaxInstances) + " requests, got " +
                     std::to_string(list.size()));
  std::vector<Invocation> out;
  out.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i)
    out.push_back(parse_invocation(list[i], "instances[" + std::to_string(i) + "]."));
  return out;
}

namespace {

// Calls fn(line number, line) for each non-blank line, CR of CRLF removed.
void for_each_line(std::string_view body, const std::function<void(size_t, std::string_view)>& fn) {
  size_t number = 0, requests = 0;
  while (!body.empty()) {
    const size_t end = body.find('\n');
    std::string_view line = body.substr(0, end);
    body = end == std::string_view::npos ? std::string_view{} : body.substr(end + 1);
    ++number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (++requests > kMaxInstances)
      throw InputError("a body must hold at most " + std::to_string(kMaxInstances) + " request lines");
    fn(number, line);
  }
  if (requests == 0) throw InputError("the body holds no request (only blank lines)");
}

std::string at_line(size_t number) { return "line " + std::to_string(number) + ": "; }

// The text of a one-field CSV line; InputError when it is not one field.
std::string csv_field(std::string_view line, size_t number) {
  const auto bad = [&](const std::string& why) {
    std::string shown_line(line.substr(0, 40));
    if (line.size() > 40) shown_line += "...";
    return InputError(at_line(number) + why + ", got '" + shown_line + "'");
  };
  // Spaces around a field are not part of it (the caller skips blank lines).
  const size_t b = line.find_first_not_of(" \t");
  line = line.substr(b, line.find_last_not_of(" \t") - b + 1);
  if (line.front() != '"') {
    if (line.find_first_of(",\"") != std::string_view::npos)
      throw bad("expected one user id (quote an id that holds a comma or quote)");
    return std::string(line);
  }
  std::string id;
  size_t i = 1;
  for (; i < line.size(); ++i) {
    if (line[i] != '"') {
      id += line[i];
    } else if (i + 1 < line.size() && line[i + 1] == '"') {
      id += '"';
      ++i;
    } else {
      break;
    }
  }
  if (i >= line.size()) throw bad("unterminated quoted user id");
  if (i + 1 != line.size()) throw bad("expected one user id (nothing after the closing quote)");
  return id;
}

}  // namespace

std::vector<Invocation> parse_jsonlines(std::string_view body) {
  std::vector<Invocation> out;
  for_each_line(body, [&](size_t number, std::string_view line) {
    const std::string where = at_line(number);
    nlohmann::json j;
    try {
      j = parse_body(line);
    } catch (const InputError& e) {
      throw InputError(where + e.what());
    }
    if (!j.is_object()) throw InputError(where + "the request must be a JSON object");
    out.push_back(parse_invocation(j, where));
  });
  return out;
}

std::vector<Invocation> parse_csv_users(std::string_view body, uint32_t k) {
  std::vector<Invocation> out;
  bool first = true;
  for_each_line(body, [&](size_t number, std::string_view line) {
    Invocation inv;
    inv.user_id = csv_field(line, number);
    inv.k = k;
    if (inv.user_id.empty()) throw InputError(at_line(number) + "the user id must not be empty");
    std::string name = inv.user_id;
    for (char& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
    const bool header = first && (name == "userid" || name == "user_id");
    first = false;
    if (!header) out.push_back(std::move(inv));
  });
  if (out.empty()) throw InputError("the body holds no user id (only a header)");
  return out;
}

uint32_t parse_k_text(std::string_view text) {
  uint64_t k = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), k);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size() || k < 1 || k > kMaxK)
    throw InputError("the query parameter k must be an integer between 1 and " + std::to_string(kMaxK) +
                     ", got '" + std::string(text.substr(0, 40)) + "'");
  return uint32_t(k);
}

}  // namespace vidrec
