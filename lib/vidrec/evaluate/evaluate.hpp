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
//   model's top k is what `vidrec recommend` lists for the user, ties and
//   all: it is ranked by Recommender::rank, the path recommend takes, whose
//   kernel also hands back every candidate's score (the dot product of user
//   and video factors) for the AUC. A user whose factors are all zero is
//   still ranked by the model (every score 0, so the lowest video indices),
//   where recommend may fall back to popular videos. The baseline scores a
//   candidate by its popularity (distinct training users); top k: highest
//   score first, ties to the lower video index -- exactly
//   Model::popular_order minus the seen videos.
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
// - Segments by activity: the same metrics over the users with 1-4, 5-19 and
//   20+ training pairs (seen videos in the model), coverage over the
//   segment's lists. (A user without training pairs, which split never
//   makes, counts in the totals only.)
// - Results do not depend on the thread count: per-user figures are summed in
//   user order after the parallel part.
// - Blocks of users are ranked at once (recommend's batched kernel), blocks
//   spread over threads.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "vidrec/dataset/dataset.hpp"
#include "vidrec/model/model.hpp"
#include "vidrec/recommend/scoring.hpp"

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

// The users of one activity segment and their metrics.
struct SegmentMetrics {
  std::string name;  // "1-4", "5-19", "20+" training pairs
  RankingMetrics model, popularity;
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
  std::vector<SegmentMetrics> segments;  // ascending activity
  nlohmann::json to_json() const;
  std::string to_text() const;  // aligned tables: model and baseline side by side, then per segment
};

// Sees each evaluated user's model top k (model user index, best first),
// called from the worker threads: lets tests hold the lists against
// recommend's.
using ListObserver = std::function<void(uint32_t model_user, const std::vector<Scored>& top)>;

// Throws ConfigError for a bad config and InputError when no test user is
// known to the model.
EvaluateReport evaluate(const Model& model, const Dataset& test, const EvaluateConfig& cfg,
                        const ListObserver& observe = {});

struct EvaluateStageConfig {
  std::string model;
  std::string test;
  EvaluateConfig eval;
};

// The reports at several k from one ranking pass (what `vidrec report` plots):
// out[c] equals evaluate() with k = cutoffs[c], every figure, because a list
// ranked to k is the first k of one ranked further and the sums run in the
// same order. cutoffs: 1 to 254 distinct values, ascending. `test_users`
// (test dataset indices), when given, limits the evaluation to those users
// (a sample); every count then refers to them.
std::vector<EvaluateReport> evaluate_cutoffs(const Model& model, const Dataset& test,
                                             const std::vector<uint32_t>& cutoffs, unsigned threads,
                                             const std::vector<uint32_t>* test_users = nullptr,
                                             const ListObserver& observe = {});

// Validates the configuration before opening anything; open errors name the file.
EvaluateReport run_evaluate(const EvaluateStageConfig& cfg);

}  // namespace vidrec
