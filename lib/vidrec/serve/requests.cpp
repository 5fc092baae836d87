// SPDX-License-Identifier: MIT
#include "vidrec/serve/requests.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <functional>
#include <unordered_map>

#include "vidrec/base/errors.hpp"
#include "vidrec/model/ann.hpp"
#include "vidrec/serve/request_fields.hpp"

namespace vidrec {

std::string shown(const nlohmann::json& v) {
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 40) s = s.substr(0, 40) + "...";
  return s;
}

namespace {

std::string shown_raw(const RawValue& v) { return shown(v.json()); }

// An integer 1..max, else InputError "<name> must be an integer between 1 and max".
uint32_t parse_bounded(const RawValue& v, const std::string& name, uint32_t max) {
  const std::string rule = name + " must be an integer between 1 and " + std::to_string(max);
  if (!v.is_integer()) throw InputError(rule + ", got " + shown_raw(v));
  const bool ok = v.kind == RawValue::Uint ? v.u >= 1 && v.u <= max : v.i >= 1 && v.i <= int64_t(max);
  if (!ok) throw InputError(rule + ", got " + shown_raw(v));
  return v.kind == RawValue::Uint ? uint32_t(v.u) : uint32_t(v.i);
}

// "exclude": an array of video ids.
std::vector<std::string> parse_ids(RawFields& f, const std::string& field) {
  if (f.exclude.kind != RawValue::Array) throw InputError(field + " must be an array of video id strings");
  if (f.exclude_bad.present())
    throw InputError(field + " must be an array of video id strings, found " + shown_raw(f.exclude_bad));
  return std::move(f.exclude_ids);
}

std::vector<HistoryItem> parse_history(RawFields& f, const std::string& field) {
  if (f.history.kind != RawValue::Array)
    throw InputError(field + " must be an array of {\"videoId\":...,\"value\":...} objects");
  std::vector<HistoryItem> items;
  items.reserve(f.history_items.size());
  for (size_t i = 0; i < f.history_items.size(); ++i) {
    RawHistoryItem& e = f.history_items[i];
    const std::string at = field + "[" + std::to_string(i) + "]";
    if (!e.object) throw InputError(at + " must be an object with a string videoId");
    if (e.video_id.kind != RawValue::String) throw InputError(at + ".videoId is required (a string)");
    HistoryItem h{std::move(e.video_id.s), 1.0};
    if (e.value.present()) {
      if (!e.value.is_number() || !(std::abs(e.value.number()) <= kMaxHistoryValue))
        throw InputError(at + ".value must be a number between -1e9 and 1e9, got " + shown_raw(e.value));
      h.value = e.value.number();
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

bool parse_flag(const RawValue& v, const std::string& name) {
  if (v.kind != RawValue::Bool) throw InputError(name + " must be true or false, got " + shown_raw(v));
  return v.b;
}

// One instance; `where` prefixes messages ("instances[2].").
Invocation parse_invocation(RawFields& f, const std::string& where) {
  if (f.self.kind != RawValue::Object)
    throw InputError((where.empty() ? "the request" : where) + " must be a JSON object");
  Invocation inv;
  if (f.user_id.kind != RawValue::String) throw InputError(where + "user_id is required (a string)");
  inv.user_id = std::move(f.user_id.s);
  if (inv.user_id.empty()) throw InputError(where + "user_id must not be empty");
  if (f.k.present()) inv.k = parse_bounded(f.k, where + "k", kMaxK);
  if (f.ef.present()) inv.ef = parse_bounded(f.ef, where + "ef", kMaxEf);
  if (f.include_seen.present()) inv.include_seen = parse_flag(f.include_seen, where + "include_seen");
  if (f.exclude.present()) inv.exclude = parse_ids(f, where + "exclude");
  if (f.explain.present()) inv.explain = parse_flag(f.explain, where + "explain");
  if (const RawValue& n = f.explain_n; n.present()) {
    // An unsigned beyond int64_t wraps negative, as the DOM's get<int64_t>() did.
    const int64_t v = n.kind == RawValue::Uint ? int64_t(n.u) : n.kind == RawValue::Int ? n.i : 0;
    if (v < 1 || v > int64_t(kMaxExplainN))
      throw InputError(where + "explain_n must be an integer 1.." + std::to_string(kMaxExplainN) + ", got " +
                       shown_raw(n));
    inv.explain_n = uint32_t(v);
  }
  if (const RawValue& l = f.location; l.present()) {
    // The parser has already refused strings that are not UTF-8.
    if (l.kind != RawValue::String || l.s.size() > kMaxLocationBytes)
      throw InputError(where + "location must be a string of at most " + std::to_string(kMaxLocationBytes) +
                       " bytes, got " + shown_raw(l));
    inv.location = std::move(f.location.s);
  }
  if (f.history.present()) {
    inv.history = parse_history(f, where + "history");
    inv.has_history = true;
  }
  return inv;
}

}  // namespace

std::vector<Invocation> parse_invocations(std::string_view body, bool& batch) {
  RawFields f = read_fields(body, true);
  batch = f.instances.present();
  if (!batch) return {parse_invocation(f, "")};
  if (f.instances.kind != RawValue::Array) throw InputError("instances must be an array of request objects");
  if (f.instance_count > kMaxInstances)
    throw InputError("instances must hold at most " + std::to_string(kMaxInstances) + " requests, got " +
                     std::to_string(f.instance_count));
  std::vector<Invocation> out;
  out.reserve(f.instance_items.size());
  for (size_t i = 0; i < f.instance_items.size(); ++i)
    out.push_back(parse_invocation(f.instance_items[i], "instances[" + std::to_string(i) + "]."));
  return out;
}

SimilarRequest parse_similar(std::string_view body) {
  RawFields f = read_fields(body, false);
  if (f.self.kind != RawValue::Object) throw InputError("the request must be a JSON object");
  SimilarRequest r;
  r.users = f.user_id.present();
  if (r.users == f.video_id.present())
    throw InputError("give exactly one of video_id (similar videos) or user_id (similar users)");
  RawValue& id = r.users ? f.user_id : f.video_id;
  if (id.kind != RawValue::String) throw InputError(std::string(r.users ? "user_id" : "video_id") + " must be a string");
  r.id = std::move(id.s);
  if (f.k.present()) r.k = parse_bounded(f.k, "k", kMaxK);
  if (f.ef.present()) r.ef = parse_bounded(f.ef, "ef", kMaxEf);
  if (f.exclude.present()) {
    if (r.users) throw InputError("exclude lists videos: not allowed with user_id");
    r.exclude = parse_ids(f, "exclude");
  }
  return r;
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
    RawFields f;
    try {
      f = read_fields(line, false);
    } catch (const InputError& e) {
      throw InputError(where + e.what());
    }
    if (f.self.kind != RawValue::Object) throw InputError(where + "the request must be a JSON object");
    out.push_back(parse_invocation(f, where));
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
