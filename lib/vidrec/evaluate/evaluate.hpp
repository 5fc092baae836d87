// SPDX-License-Identifier: MIT
// The `evaluate` stage: how well a model ranks held-out interactions (a test
// dataset from `split`), next to a most-popular baseline ranked the same way.
//
// Contract
// - Test users and videos are mapped to the model by id string. A test user
//   the model does not know is skipped (counted in users_unknown); a test
//   video it does not know stays relevant but can never be recommended, as
//   does a test video the user already has in training (such overlap means the
//   test set was not split from the model's training data; it is counted).
// - Evaluated: every test user known to the model with >= 1 test pair. For
//   each, the candidates are all model videos except the user's training
//   videos (Model::seen_begin/seen_end), the same exclusion as recommend. The
//   model scores a candidate by the dot product of user and video factors;
//   the baseline by its popularity (distinct training users). Top k: highest
//   score first, ties to the lower video index -- the baseline's top k is thus
//   exactly Model::popular_order minus the seen videos.
// - Metrics, per user then averaged over evaluated users (relevant set R =
//   the user's test videos, hits = |top k n R|):
//     precision@k = hits / k
//     recall@k    = hits / |R|
//     MAP@k       = mean of AP@k = sum over hit ranks i of (hits in top i / i),
//                   divided by min(k, |R|)
//     NDCG@k      = DCG / IDCG, DCG = sum over hit ranks i of 1 / log2(i + 1),
//                   IDCG = sum for i = 1..min(k, |R|) of 1 / log2(i + 1)
//     AUC         = over all candidates: the fraction of (relevant candidate,
//                   non-relevant candidate) pairs whose scores are in the
//                   right order, ties counting 1/2; averaged over the users
//                   that have both kinds of candidate (auc_users)
//   and once over all users: coverage = distinct videos in anyone's top k /
//   videos in the model.
// - Results do not depend on the thread count: per-user figures are summed in
//   user order after the parallel part.
// - Scores are computed for blocks of users with one matrix-matrix product
//   (video factors^T x user factors), blocks spread over threads.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "vidrec/dataset/dataset.hpp"
#include "vidrec/model/model.hpp"

namespace vidrec {

struct EvaluateConfig {
  uint32_t k = 10;
  unsigned threads = 0;   // 0 = all cores
  void validate() const;  // throws ConfigError
};

struct RankingMetrics {
  double precision = 0, recall = 0, map = 0, ndcg = 0, auc = 0, coverage = 0;
  uint64_t users = 0;               // users averaged over (all metrics but AUC)
  uint64_t auc_users = 0;           // users with a reachable relevant and a non-relevant candidate
  uint64_t recommended_videos = 0;  // distinct videos in anyone's top k
  nlohmann::json to_json() const;
};

struct EvaluateReport {
  uint32_t k = 0;
  uint64_t test_users = 0;     // test users with >= 1 pair
  uint64_t users_unknown = 0;  // of those, not in the model (skipped)
  uint64_t test_pairs = 0;     // all pairs of the test set
  uint64_t pairs_unknown_user = 0, pairs_unknown_video = 0, pairs_seen_in_training = 0;
  uint32_t model_videos = 0;
  RankingMetrics model, popularity;
  nlohmann::json to_json() const;
  std::string to_text() const;  // an aligned table, model and baseline side by side
};

// Throws ConfigError for a bad config and InputError when no test user is
// known to the model.
EvaluateReport evaluate(const Model& model, const Dataset& test, const EvaluateConfig& cfg);

struct EvaluateStageConfig {
  std::string model;
  std::string test;
  EvaluateConfig eval;
};

// Validates the configuration before opening anything; open errors name the file.
EvaluateReport run_evaluate(const EvaluateStageConfig& cfg);

}  // namespace vidrec
