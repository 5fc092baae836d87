// SPDX-License-Identifier: MIT
#include "vidrec/als/weighting.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "vidrec/base/errors.hpp"

namespace vidrec {

namespace {

const char* scheme_name(Weighting::Scheme s) {
  switch (s) {
    case Weighting::Scheme::Bm25:
      return "bm25";
    case Weighting::Scheme::TfIdf:
      return "tfidf";
    default:
      return "none";
  }
}

double idf(uint64_t users, uint64_t df) { return std::log(double(users)) - std::log1p(double(df)); }

// The scheme's weight of a positive w; never <= 0 (see the contract).
double scheme_weight(double w, const Weighting& cfg, double idf_v, double len, double avg_len) {
  double out = w;
  if (cfg.scheme == Weighting::Scheme::Bm25) {
    const double norm = avg_len > 0 ? (1.0 - cfg.b) + cfg.b * len / avg_len : 1.0;
    out = w * (cfg.k1 + 1.0) / (cfg.k1 * norm + w) * idf_v;
  } else if (cfg.scheme == Weighting::Scheme::TfIdf) {
    out = std::sqrt(w) * idf_v;
  }
  return std::max(out, double(std::numeric_limits<float>::min()));
}

}  // namespace

void Weighting::validate() const {
  if (!(std::isfinite(k1) && k1 > 0.0f))
    throw ConfigError("bm25-k1 must be finite and > 0, got " + std::to_string(k1));
  if (!(b >= 0.0f && b <= 1.0f))
    throw ConfigError("bm25-b must be between 0 and 1, got " + std::to_string(b));
  if (!(std::isfinite(half_life) && half_life >= 0))
    throw ConfigError("half-life must be finite and >= 0 (0 = no decay)");
}

nlohmann::json Weighting::to_json() const {
  nlohmann::json j{{"scheme", scheme_name(scheme)}, {"half_life_seconds", half_life}};
  if (scheme == Scheme::Bm25) j["k1"] = k1, j["b"] = b;
  if (now) j["now"] = *now;
  return j;
}

Weighting::Scheme parse_scheme(const std::string& name) {
  if (name == "none") return Weighting::Scheme::None;
  if (name == "bm25") return Weighting::Scheme::Bm25;
  if (name == "tfidf") return Weighting::Scheme::TfIdf;
  throw ConfigError("weighting must be one of none, bm25, tfidf, got '" + name + "'");
}

double parse_duration(const std::string& text) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  double unit = 0;
  if (ec == std::errc() && ptr + 1 >= end) {
    const char u = ptr == end ? 's' : *ptr;
    unit = u == 's' ? 1 : u == 'm' ? 60 : u == 'h' ? 3600 : u == 'd' ? 86400 : u == 'w' ? 604800 : 0;
  }
  if (unit == 0 || !std::isfinite(value) || value < 0)
    throw ConfigError("bad duration '" + text +
                      "': a number >= 0 with an optional unit s, m, h, d or w (e.g. 30d)");
  return value * unit;
}

WeightedMatrix apply_weighting(const CsrView& user_items, const CsrView& item_users, const int64_t* last_ts,
                               const Weighting& w) {
  w.validate();
  WeightedMatrix out;
  const uint64_t nnz = user_items.nnz();
  out.user_values.assign(user_items.values, user_items.values + nnz);
  std::vector<float>& v = out.user_values;
  out.stats.users = user_items.rows;

  if (w.half_life > 0) {
    int64_t now = std::numeric_limits<int64_t>::min();
    if (w.now)
      now = *w.now;
    else
      for (uint64_t e = 0; e < nnz; ++e) now = std::max(now, last_ts[e]);
    out.stats.now = now;
    for (uint64_t e = 0; e < nnz; ++e) {
      const double age = std::max(0.0, double(now) - double(last_ts[e]));
      v[e] = float(double(v[e]) * std::exp2(-age / w.half_life));
    }
  }

  if (w.scheme != Weighting::Scheme::None) {
    std::vector<uint64_t> df(user_items.cols, 0);
    std::vector<double> len(user_items.rows, 0.0);
    double total = 0;
    for (uint32_t u = 0; u < user_items.rows; ++u)
      for (uint64_t e = user_items.row_begin(u); e < user_items.row_end(u); ++e)
        if (v[e] > 0.0f) {
          ++df[user_items.indices[e]];
          len[u] += v[e];
        }
    for (const double l : len) total += l;
    out.stats.avg_len = user_items.rows ? total / user_items.rows : 0.0;
    for (uint32_t u = 0; u < user_items.rows; ++u)
      for (uint64_t e = user_items.row_begin(u); e < user_items.row_end(u); ++e)
        if (v[e] > 0.0f)
          v[e] = float(scheme_weight(v[e], w, idf(out.stats.users, df[user_items.indices[e]]), len[u],
                                     out.stats.avg_len));
  }

  // The transpose holds each video's users ascending: fill it in user order.
  out.item_values.resize(nnz);
  std::vector<uint64_t> cursor(item_users.indptr, item_users.indptr + item_users.rows);
  for (uint32_t u = 0; u < user_items.rows; ++u)
    for (uint64_t e = user_items.row_begin(u); e < user_items.row_end(u); ++e)
      out.item_values[cursor[user_items.indices[e]]++] = v[e];
  out.user_items = user_items;
  out.user_items.values = out.user_values.data();
  out.item_users = item_users;
  out.item_users.values = out.item_values.data();
  return out;
}

double weight_fold_in(double w, const Weighting& cfg, const WeightingStats& stats, uint64_t df, double len) {
  if (!(w > 0) || cfg.scheme == Weighting::Scheme::None) return w;
  return scheme_weight(w, cfg, idf(stats.users, df), len, stats.avg_len);
}

}  // namespace vidrec
