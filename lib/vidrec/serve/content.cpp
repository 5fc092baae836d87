// SPDX-License-Identifier: MIT
// Hand-written: Accept is a few dozen bytes of one grammar, and no Debian
// C++ library parses it without a whole HTTP framework.
#include "vidrec/serve/content.hpp"

#include <string>

namespace vidrec {

namespace {

std::string_view trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

// RFC 9110 qvalue: 0, 1, or up to three decimals; -1 when malformed.
int parse_q(std::string_view v) {
  if (v.empty() || v.size() > 5 || (v[0] != '0' && v[0] != '1')) return -1;
  int q = (v[0] - '0') * 1000;
  if (v.size() > 1) {
    if (v[1] != '.') return -1;
    int scale = 100;
    for (size_t i = 2; i < v.size(); ++i, scale /= 10) {
      if (v[i] < '0' || v[i] > '9') return -1;
      q += (v[i] - '0') * scale;
    }
  }
  return q <= 1000 ? q : -1;
}

struct Offer {
  MediaType type;
  const char* major;  // what type/* names
};
constexpr Offer kOffers[] = {
    {MediaType::Json, "application"}, {MediaType::JsonLines, "application"}, {MediaType::Csv, "text"}};

}  // namespace

const char* media_type_name(MediaType t) {
  switch (t) {
    case MediaType::Json:
      return "application/json";
    case MediaType::JsonLines:
      return "application/jsonlines";
    case MediaType::Csv:
      return "text/csv";
  }
  return "application/json";
}

std::optional<MediaType> request_type(std::string_view content_type) {
  const std::string t = lower(trim(content_type.substr(0, content_type.find(';'))));
  if (t == "application/json") return MediaType::Json;
  if (t == "application/jsonlines" || t == "application/x-jsonlines" || t == "application/jsonl" ||
      t == "application/x-ndjson")
    return MediaType::JsonLines;
  if (t == "text/csv") return MediaType::Csv;
  return std::nullopt;
}

std::optional<MediaType> reply_type(std::string_view accept, std::initializer_list<MediaType> offered) {
  if (offered.size() == 0) return std::nullopt;
  if (trim(accept).empty()) return *offered.begin();  // */*: the first offered (and no parsing per request)
  struct Best {
    int specificity = -1;  // 0 */*, 1 type/*, 2 type/subtype
    int q = 0;
    size_t position = 0;
  };
  Best best[3];
  size_t position = 0;
  while (!accept.empty()) {
    const size_t comma = accept.find(',');
    std::string_view range = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view{} : accept.substr(comma + 1);
    ++position;
    std::string_view params;
    if (const size_t semi = range.find(';'); semi != std::string_view::npos) {
      params = range.substr(semi + 1);
      range = range.substr(0, semi);
    }
    const std::string name = lower(trim(range));
    const size_t slash = name.find('/');
    if (slash == std::string::npos) continue;
    const std::string_view major = std::string_view(name).substr(0, slash);
    const std::string_view minor = std::string_view(name).substr(slash + 1);
    int q = 1000;
    while (!params.empty()) {
      const size_t semi = params.find(';');
      const std::string_view p = trim(params.substr(0, semi));
      params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
      if (p.size() >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') q = parse_q(trim(p.substr(2)));
    }
    if (q < 0) continue;
    const std::optional<MediaType> exact = request_type(name);
    for (const Offer& n : kOffers) {
      int specificity = -1;
      if (major == "*" && minor == "*")
        specificity = 0;
      else if (major == n.major && minor == "*")
        specificity = 1;
      else if (exact == n.type)
        specificity = 2;
      Best& b = best[int(n.type)];
      if (specificity > b.specificity) b = {specificity, q, position};
    }
  }
  std::optional<MediaType> chosen;
  for (const MediaType t : offered) {
    const Best& b = best[int(t)];
    if (b.specificity < 0 || b.q == 0) continue;
    const Best* c = chosen ? &best[int(*chosen)] : nullptr;
    if (!c || b.q > c->q || (b.q == c->q && b.position < c->position)) chosen = t;
  }
  return chosen;
}

}  // namespace vidrec
