// SPDX-License-Identifier: MIT
// Reweighting the user x video matrix before ALS: time decay, then BM25 or
// TF-IDF. The dataset keeps the raw summed weights; training (and tune)
// apply these to a copy of the values, and the model records them.
//
// Contract (w = a pair's summed weight, t = its last timestamp)
// - Time decay (half_life > 0): w *= 0.5^((now - t) / half_life), now = the
//   `now` given or else the newest last timestamp in the matrix; pairs newer
//   than now count as age 0.
// - BM25, rows = users (documents) and columns = videos (terms), as
//   implicit.nearest_neighbours.bm25_weight applied to a user x item matrix:
//     w' = w (K1 + 1) / (K1 ((1 - B) + B len_u / avg_len) + w) * idf_v
//     idf_v = log(n_users) - log(1 + df_v)
//   len_u = the user's summed positive weight, avg_len its mean over all
//   users, df_v = the video's positive pairs. TF-IDF: w' = sqrt(w) * idf_v.
//   A fold-in user (serve's history) is weighted by the same formula from
//   its own history, n_users, avg_len and df (kept in the model).
// - Only positive weights are reweighted by BM25/TF-IDF (they would flip a
//   negative sign); negative weights are only decayed. A weight that the
//   scheme sends to <= 0 (idf <= 0: a video every user has) is clamped to
//   the smallest positive float, so it stays a positive pair.
// - The transpose's values are the same numbers in video order.
// validate() throws ConfigError naming the broken rule.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "vidrec/dataset/sparse.hpp"

namespace vidrec {

struct Weighting {
  enum class Scheme { None, Bm25, TfIdf };
  Scheme scheme = Scheme::None;
  float k1 = 100.0f, b = 0.8f;
  double half_life = 0;        // seconds; 0 = no decay
  std::optional<int64_t> now;  // reference time of the decay; unset = newest event
  bool active() const { return scheme != Scheme::None || half_life > 0; }
  void validate() const;
  nlohmann::json to_json() const;  // {"scheme":"bm25","k1":100,"b":0.8,"half_life":"30d",...}
};

// "bm25" etc. -> Scheme; ConfigError listing the valid names otherwise.
Weighting::Scheme parse_scheme(const std::string& name);
// "30d", "12h", "90m", "3600s", "3600" (seconds), "2w" -> seconds; ConfigError otherwise.
double parse_duration(const std::string& text);

// The statistics BM25 needs for a fold-in user (see the contract).
struct WeightingStats {
  uint64_t users = 0;
  double avg_len = 0;
  int64_t now = 0;  // the decay's reference time actually used
};

struct WeightedMatrix {
  std::vector<float> user_values, item_values;  // same order as the input CSRs
  CsrView user_items, item_users;               // the input structure with these values
  WeightingStats stats;
};

// last_ts: per user_items entry (may be null when half_life == 0).
WeightedMatrix apply_weighting(const CsrView& user_items, const CsrView& item_users, const int64_t* last_ts,
                               const Weighting& w);

// The weight a fold-in history entry gets (no decay: history is "now").
// df = the video's positive pairs in training, len = the history's summed
// positive weight.
double weight_fold_in(double w, const Weighting& cfg, const WeightingStats& stats, uint64_t df, double len);

}  // namespace vidrec
