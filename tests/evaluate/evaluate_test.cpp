// SPDX-License-Identifier: MIT
// Metrics against hand computations on a tiny case and against a brute-force
// reference (full sort, all pairs for AUC) on random models.
#include "vidrec/evaluate/evaluate.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"

using namespace vidrec;

namespace {

// A dataset from per-user video lists (indices into `videos`).
DatasetData data_of(std::vector<std::string> users, std::vector<std::string> videos,
                    const std::vector<std::vector<uint32_t>>& rows) {
  DatasetData d;
  d.user_ids = std::move(users);
  d.video_ids = std::move(videos);
  d.indptr.push_back(0);
  for (const auto& row : rows) {
    for (uint32_t v : row) {
      d.indices.push_back(v);
      d.weights.push_back(1);
      d.events.push_back(1);
      d.first_ts.push_back(0);
      d.last_ts.push_back(0);
    }
    d.indptr.push_back(d.indices.size());
  }
  return d;
}

Model make_model(const test::TempDir& dir, const DatasetData& train, uint32_t f, const std::vector<float>& uf,
                 const std::vector<float>& vf) {
  write_dataset(train, dir.file("train.vrd"));
  ModelData md;
  md.factors = f;
  md.user_factors = uf.data();
  md.video_factors = vf.data();
  write_model(Dataset::open(dir.file("train.vrd")), md, dir.file("m.vrm"));
  return Model::open(dir.file("m.vrm"));
}

Dataset make_test(const test::TempDir& dir, const DatasetData& test) {
  write_dataset(test, dir.file("test.vrd"));
  return Dataset::open(dir.file("test.vrd"));
}

EvaluateConfig cfg_k(uint32_t k, unsigned threads = 1) {
  EvaluateConfig c;
  c.k = k;
  c.threads = threads;
  return c;
}

}  // namespace

TEST_CASE("metrics on a hand-computed example", "[evaluate]") {
  test::TempDir dir;
  // Model: 3 users, videos v0..v4, one factor. Video factors 5 4 3 2 1;
  // user factors u0 = 1 (scores 5 4 3 2 1), u1 = -1 (scores -5 .. -1), u2 = 0.
  // Training: u0 {v0}, u1 {v3, v4}, u2 {v3}.
  // Popularity (distinct training users): v0 1, v1 0, v2 0, v3 2, v4 1, so
  // popular_order = v3 v0 v4 v1 v2.
  const Model m =
      make_model(dir, data_of({"u0", "u1", "u2"}, {"v0", "v1", "v2", "v3", "v4"}, {{0}, {3, 4}, {3}}), 1,
                 {1, -1, 0}, {5, 4, 3, 2, 1});
  // Test: u0 {v2, v3}; u1 {v0, v4, v9}: v4 is in u1's training and v9 unknown
  // to the model, both relevant but unreachable; u9 {v2} is unknown to the
  // model (skipped).
  const Dataset t = make_test(
      dir, data_of({"u0", "u1", "u9"}, {"v0", "v1", "v2", "v3", "v4", "v9"}, {{2, 3}, {0, 4, 5}, {2}}));
  const EvaluateReport r = evaluate(m, t, cfg_k(2));
  CHECK(r.test_users == 3);
  CHECK(r.users_unknown == 1);
  CHECK(r.test_pairs == 6);
  CHECK(r.pairs_unknown_user == 1);
  CHECK(r.pairs_unknown_video == 1);
  CHECK(r.pairs_seen_in_training == 1);

  // Model, k = 2. Let g = 1/log2(3) = 0.63093.
  // u0: candidates v1 4, v2 3, v3 2, v4 1 (v0 seen); top2 = [v1, v2]; R = {v2, v3}.
  //   hit at rank 2: precision 1/2, recall 1/2, AP = (1/2) / min(2, 2) = 1/4,
  //   NDCG = g / (1 + g) = 0.38685.
  //   AUC: relevant v2 (3), v3 (2) vs v1 (4), v4 (1): (v2>v1 no, v2>v4 yes,
  //   v3>v1 no, v3>v4 yes) = 2/4.
  // u1: candidates v0 -5, v1 -4, v2 -3 (v3, v4 seen); top2 = [v2, v1];
  //   R = {v0, v4, v9}, |R| = 3: no hit, all 0. AUC: v0 (-5) vs v1, v2: 0/2.
  const double g = 1 / std::log2(3.0);
  CHECK(r.model.users == 2);
  CHECK(r.model.precision == Approx((0.5 + 0) / 2));
  CHECK(r.model.recall == Approx((0.5 + 0) / 2));
  CHECK(r.model.map == Approx((0.25 + 0) / 2));
  CHECK(r.model.ndcg == Approx((g / (1 + g) + 0) / 2));
  CHECK(r.model.auc == Approx((0.5 + 0) / 2));
  CHECK(r.model.auc_users == 2);
  // Recommended: {v1, v2} of 5 videos.
  CHECK(r.model.recommended_videos == 2);
  CHECK(r.model.coverage == Approx(0.4));

  // Popularity, k = 2.
  // u0: popular_order minus v0 -> top2 = [v3, v4]; hit at rank 1: precision
  //   1/2, recall 1/2, AP = 1 / 2, NDCG = 1 / (1 + g).
  //   AUC: v2 (0), v3 (2) vs v1 (0), v4 (1): v2~v1 tie 1/2, v2>v4 no,
  //   v3>v1 yes, v3>v4 yes = 2.5/4.
  // u1: order minus v3, v4 -> top2 = [v0, v1]; hit at rank 1; |R| = 3:
  //   precision 1/2, recall 1/3, AP = 1 / min(2, 3) = 1/2, NDCG = 1 / (1 + g).
  //   AUC: v0 (1) vs v1 (0), v2 (0) = 2/2.
  CHECK(r.popularity.precision == Approx(0.5));
  CHECK(r.popularity.recall == Approx((0.5 + 1.0 / 3) / 2));
  CHECK(r.popularity.map == Approx(0.5));
  CHECK(r.popularity.ndcg == Approx(1 / (1 + g)));
  CHECK(r.popularity.auc == Approx((0.625 + 1) / 2));
  // Recommended: {v3, v4, v0, v1} of 5.
  CHECK(r.popularity.coverage == Approx(0.8));

  const nlohmann::json j = r.to_json();
  CHECK(j["users_evaluated"] == 2);
  CHECK(j["model"]["map"].get<double>() == Approx(0.125));
  CHECK(r.to_text().find("ndcg@2") != std::string::npos);

  // k larger than the candidate lists: lists are shorter, precision still / k.
  // u0: top = all 4 candidates [v1 v2 v3 v4]; hits at ranks 2 and 3:
  //   precision 2/10, recall 1, AP = (1/2 + 2/3) / min(10, 2) = 7/12.
  const EvaluateReport big = evaluate(m, t, cfg_k(10));
  CHECK(big.model.precision == Approx((0.2 + 0.1) / 2));  // u1: v0 at rank 3 of [v2 v1 v0]
  CHECK(big.model.map == Approx((7.0 / 12 + (1.0 / 3) / 3) / 2));
}

TEST_CASE("metrics match a brute-force reference on random models", "[evaluate]") {
  // 300 users (several score blocks), 50 videos, 3 factors; popularity ties
  // exercise the AUC's half credit.
  const uint32_t n_users = 300, n_videos = 50, f = 3, k = 7;
  std::mt19937 rng(5);
  std::normal_distribution<float> normal;
  std::vector<std::string> users, videos;
  for (uint32_t u = 0; u < n_users; ++u) users.push_back("u" + std::to_string(1000 + u));
  for (uint32_t v = 0; v < n_videos; ++v) videos.push_back("v" + std::to_string(1000 + v));
  std::vector<std::vector<uint32_t>> train(n_users), test(n_users);
  for (uint32_t u = 0; u < n_users; ++u)
    for (uint32_t v = 0; v < n_videos; ++v) {
      const uint32_t r = rng() % 10;
      if (r < 2) train[u].push_back(v);
      if (r == 2 || (r == 3 && u % 2)) test[u].push_back(v);
    }
  std::vector<float> uf(n_users * f), vf(n_videos * f);
  for (float& x : uf) x = normal(rng);
  for (float& x : vf) x = normal(rng);
  test::TempDir dir;
  const Model m = make_model(dir, data_of(users, videos, train), f, uf, vf);
  const Dataset t = make_test(dir, data_of(users, videos, test));

  // Reference: sort every candidate (score desc, index asc), metrics from the
  // definitions; AUC over all (relevant, non-relevant) candidate pairs.
  auto reference = [&](auto score) {
    RankingMetrics ref;
    std::set<uint32_t> recommended;
    for (uint32_t u = 0; u < n_users; ++u) {
      if (test[u].empty()) continue;
      const std::set<uint32_t> seen(train[u].begin(), train[u].end()), rel(test[u].begin(), test[u].end());
      std::vector<uint32_t> cand;
      for (uint32_t v = 0; v < n_videos; ++v)
        if (!seen.count(v)) cand.push_back(v);
      std::sort(cand.begin(), cand.end(), [&](uint32_t a, uint32_t b) {
        return score(u, a) != score(u, b) ? score(u, a) > score(u, b) : a < b;
      });
      double hits = 0, ap = 0, dcg = 0, idcg = 0;
      for (uint32_t i = 0; i < k && i < cand.size(); ++i) {
        recommended.insert(cand[i]);
        if (rel.count(cand[i])) {
          hits += 1;
          ap += hits / (i + 1);
          dcg += 1 / std::log2(i + 2.0);
        }
      }
      for (uint32_t i = 0; i < std::min<size_t>(k, rel.size()); ++i) idcg += 1 / std::log2(i + 2.0);
      ref.precision += hits / k;
      ref.recall += hits / rel.size();
      ref.map += ap / std::min<size_t>(k, rel.size());
      ref.ndcg += dcg / idcg;
      double good = 0, pairs = 0;
      for (uint32_t a : cand)
        for (uint32_t b : cand)
          if (rel.count(a) && !rel.count(b)) {
            pairs += 1;
            good += score(u, a) > score(u, b) ? 1 : score(u, a) == score(u, b) ? 0.5 : 0;
          }
      if (pairs > 0) {
        ref.auc += good / pairs;
        ++ref.auc_users;
      }
      ++ref.users;
    }
    ref.precision /= ref.users;
    ref.recall /= ref.users;
    ref.map /= ref.users;
    ref.ndcg /= ref.users;
    ref.auc /= ref.auc_users;
    ref.coverage = double(recommended.size()) / n_videos;
    return ref;
  };
  auto check = [](const RankingMetrics& got, const RankingMetrics& want) {
    CHECK(got.users == want.users);
    CHECK(got.auc_users == want.auc_users);
    CHECK(got.precision == Approx(want.precision));
    CHECK(got.recall == Approx(want.recall));
    CHECK(got.map == Approx(want.map));
    CHECK(got.ndcg == Approx(want.ndcg));
    CHECK(got.auc == Approx(want.auc));
    CHECK(got.coverage == Approx(want.coverage));
  };
  // Scores as the library computes them, in float: single-precision dot products.
  const auto dot = [&](uint32_t u, uint32_t v) {
    float s = 0;
    for (uint32_t i = 0; i < f; ++i) s += uf[u * f + i] * vf[v * f + i];
    return s;
  };
  const auto pop = [&](uint32_t, uint32_t v) { return double(m.popularity()[v]); };
  const EvaluateReport one = evaluate(m, t, cfg_k(k, 1));
  check(one.model, reference(dot));
  check(one.popularity, reference(pop));

  // Thread count changes nothing, to the bit.
  const EvaluateReport three = evaluate(m, t, cfg_k(k, 3));
  CHECK(three.to_json() == one.to_json());
}

TEST_CASE("evaluate config rules and inputs", "[evaluate]") {
  CHECK_THROWS_WITH(cfg_k(0).validate(), "k must be >= 1, got 0");
  CHECK_THROWS_AS(cfg_k(1, 5000).validate(), ConfigError);

  test::TempDir dir;
  const Model m = make_model(dir, data_of({"a"}, {"x", "y"}, {{0}}), 1, {1}, {1, 2});
  // No test user known to the model.
  const Dataset stranger = make_test(dir, data_of({"b"}, {"y"}, {{0}}));
  CHECK_THROWS_WITH(evaluate(m, stranger, cfg_k(1)), Catch::Contains("test users is known to the model"));

  // Test pairs the user already has in training: relevant, never recommendable;
  // AUC has no reachable relevant video, so it is undefined (null), not 0.
  const Dataset overlap = make_test(dir, data_of({"a"}, {"x"}, {{0}}));
  const EvaluateReport r = evaluate(m, overlap, cfg_k(1));
  CHECK(r.pairs_seen_in_training == 1);
  CHECK(r.model.precision == 0);
  CHECK(r.to_json()["model"]["auc"].is_null());

  EvaluateStageConfig cfg;
  cfg.model = dir.file("m.vrm");
  cfg.test = dir.file("none.vrd");
  CHECK_THROWS_WITH(run_evaluate(cfg), Catch::Contains("none.vrd"));
  cfg.test = dir.file("m.vrm");  // a model given as the test set
  CHECK_THROWS_AS(run_evaluate(cfg), FormatError);
  cfg.eval.k = 0;  // checked before any file is opened
  CHECK_THROWS_AS(run_evaluate(cfg), ConfigError);
}
