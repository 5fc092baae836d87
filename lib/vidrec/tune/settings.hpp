// SPDX-License-Identifier: MIT
// From a point of the search space to train's settings, the trial lines'
// parameters and the config file `vidrec train --config` reads; and the
// metric tune maximises.
//
// Contract
// - settings_of turns a point into AlsConfig + Weighting exactly as train
//   gets them (regularization de-normalised, space.hpp); parameters that do
//   not act (epsilon with linear confidence, bm25-k1 and bm25-b without BM25)
//   keep train's defaults, so the model's recorded hyperparameters are those
//   of `vidrec train --config` on the written file.
// - parameters_json names train's long options in train's order, with the
//   values train will parse back to the same floats (shortest decimals);
//   epsilon only with log confidence, bm25-k1/b only with BM25,
//   negative-weight only when not 0, half-life only when decaying ("3600s").
// - config_text is a TOML file with a [train] section holding those
//   parameters and the seed, after `#` comment lines.
// - Metrics: "ndcg@K", "precision@K", "recall@K", "map@K" (K >= 1) and "auc"
//   (over all candidates, K does not matter); anything else is a ConfigError.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "vidrec/als/config.hpp"
#include "vidrec/als/weighting.hpp"
#include "vidrec/evaluate/evaluate.hpp"
#include "vidrec/tune/space.hpp"

namespace vidrec {

struct TrainSettings {
  AlsConfig als;
  Weighting weighting;
};

TrainSettings settings_of(const Point& values, const DataFacts& facts, uint32_t iterations, uint64_t seed);
nlohmann::ordered_json parameters_json(const TrainSettings& s);
std::string config_text(const TrainSettings& s, const std::string& comment);

struct Metric {
  enum class Kind { Ndcg, Precision, Recall, Map, Auc };
  Kind kind = Kind::Ndcg;
  uint32_t k = 10;
  std::string name() const;  // as parsed: "ndcg@10", "auc"
  double of(const RankingMetrics& m) const;
};

Metric parse_metric(const std::string& text);

}  // namespace vidrec
