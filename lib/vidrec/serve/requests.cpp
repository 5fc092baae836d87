// SPDX-License-Identifier: MIT
#include "vidrec/serve/requests.hpp"

#include <cmath>

#include "vidrec/base/errors.hpp"

namespace vidrec {

uint32_t parse_k(const nlohmann::json& j, const std::string& where) {
  const std::string rule = where + "k must be an integer between 1 and " + std::to_string(kMaxK);
  if (!j.is_number_integer()) throw InputError(rule + ", got " + j.dump());
  const bool ok = j.is_number_unsigned() ? j.get<uint64_t>() >= 1 && j.get<uint64_t>() <= kMaxK
                                         : j.get<int64_t>() >= 1 && j.get<int64_t>() <= kMaxK;
  if (!ok) throw InputError(rule + ", got " + j.dump());
  return uint32_t(j.get<uint64_t>());
}

std::vector<std::string> parse_ids(const nlohmann::json& j, const std::string& field) {
  if (!j.is_array()) throw InputError(field + " must be an array of video id strings");
  std::vector<std::string> ids;
  ids.reserve(j.size());
  for (const auto& e : j) {
    if (!e.is_string()) throw InputError(field + " must be an array of video id strings, found " + e.dump());
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
      if (!v->is_number() || !std::isfinite(v->get<double>()))
        throw InputError(at + ".value must be a finite number, got " + v->dump());
      h.value = v->get<double>();
    }
    items.push_back(std::move(h));
  }
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
  if (const auto s = j.find("include_seen"); s != j.end()) {
    if (!s->is_boolean()) throw InputError(where + "include_seen must be true or false, got " + s->dump());
    inv.include_seen = s->get<bool>();
  }
  if (const auto e = j.find("exclude"); e != j.end()) inv.exclude = parse_ids(*e, where + "exclude");
  if (const auto h = j.find("history"); h != j.end()) {
    inv.history = parse_history(*h, where + "history");
    inv.has_history = true;
  }
  return inv;
}

std::vector<Invocation> parse_invocations(std::string_view body, bool& batch) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body.begin(), body.end());
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(std::string("malformed JSON: ") + e.what());
  }
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

}  // namespace vidrec
