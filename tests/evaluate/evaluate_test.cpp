// SPDX-License-Identifier: MIT
// Metrics against hand computations on a tiny case and against a brute-force
// reference (full sort, all pairs for AUC) on random models.
#include "vidrec/evaluate/evaluate.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <mutex>
#include <numeric>
#include <random>
#include <set>
#include <string_view>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/recommend/recommend.hpp"

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

// Users u1000.., videos v1000..; for each (user, video) in turn, where(u, r)
// with r = rng() % modulo says whether the pair is in training and in test.
constexpr int kTrain = 1, kTest = 2;
struct RandomCase {
  std::vector<std::string> users, videos;
  std::vector<std::vector<uint32_t>> train, test;
};
template <class Where>
RandomCase random_case(uint32_t n_users, uint32_t n_videos, std::mt19937& rng, uint32_t modulo, Where where) {
  RandomCase c;
  for (uint32_t u = 0; u < n_users; ++u) c.users.push_back("u" + std::to_string(1000 + u));
  for (uint32_t v = 0; v < n_videos; ++v) c.videos.push_back("v" + std::to_string(1000 + v));
  c.train.resize(n_users);
  c.test.resize(n_users);
  for (uint32_t u = 0; u < n_users; ++u)
    for (uint32_t v = 0; v < n_videos; ++v) {
      const int w = where(u, rng() % modulo);
      if (w & kTrain) c.train[u].push_back(v);
      if (w & kTest) c.test[u].push_back(v);
    }
  return c;
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
  const RandomCase rc = random_case(n_users, n_videos, rng, 10, [](uint32_t u, uint32_t r) {
    return (r < 2 ? kTrain : 0) | (r == 2 || (r == 3 && u % 2) ? kTest : 0);
  });
  const auto &users = rc.users, &videos = rc.videos;
  const auto &train = rc.train, &test = rc.test;
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

namespace {

// Every evaluated user's model list, as evaluate saw it (the observer runs on
// the worker threads).
std::map<uint32_t, std::vector<Scored>> lists_of(const Model& m, const Dataset& t, uint32_t k,
                                                 unsigned threads) {
  std::map<uint32_t, std::vector<Scored>> lists;
  std::mutex mu;
  evaluate(m, t, cfg_k(k, threads), [&](uint32_t u, const std::vector<Scored>& top) {
    std::lock_guard<std::mutex> lock(mu);
    CHECK(lists.emplace(u, top).second);
  });
  return lists;
}

// evaluate's lists hold recommend's (for_users and for_user) video for video
// and score for score. A user whose factors are all zero is ranked by the
// model all the same (every score 0: the lowest unseen indices), also where
// recommend serves such a user popular videos.
void check_lists_are_recommends(const Model& m, const Dataset& t, uint32_t k) {
  const auto lists = lists_of(m, t, k, 3);
  RecommendOptions ro;
  ro.k = k;
  ro.threads = 2;
  const Recommender rec(m, ro);
  std::vector<std::string_view> ids;
  for (const auto& entry : lists) ids.push_back(m.user_id(entry.first));
  size_t i = 0;
  auto same = [](const std::vector<Scored>& a, const std::vector<Scored>& b) {
    REQUIRE(a.size() == b.size());
    for (size_t r = 0; r < a.size(); ++r) {
      CHECK(a[r].video == b[r].video);
      CHECK(a[r].score == b[r].score);
    }
  };
  rec.for_users(ids, 2, [&](const Recommendations& r) {
    INFO("user " << r.id);
    const uint32_t u = std::next(lists.begin(), int64_t(i++))->first;
    const std::vector<Scored>& got = lists.at(u);
    const float* x = m.user_vector(u);
    if (std::all_of(x, x + m.factors(), [](float v) { return v == 0; })) {
      std::vector<Scored> lowest;
      for (uint32_t v = 0; v < m.n_videos() && lowest.size() < k; ++v)
        if (!std::binary_search(m.seen_begin(u), m.seen_end(u), v)) lowest.push_back({v, 0.0f});
      same(got, lowest);
      if (r.source == Source::Popular) return;
    }
    REQUIRE(r.source == Source::Model);
    same(got, r.items);
    same(got, rec.for_user(r.id).items);
  });
  CHECK(i == lists.size());
}

}  // namespace

TEST_CASE("evaluate ranks exactly as recommend does, near-ties and exact ties included", "[evaluate]") {
  // 150 users, 300 videos (no multiple of 16), 37 factors: sums of many
  // products, where another summation order would reorder near-ties. Then
  // the same with factors of a few values, full of exact ties, and users
  // whose factors are all zero (every score ties).
  std::mt19937 rng(11);
  const uint32_t n_users = 150, n_videos = 300;
  const RandomCase rc = random_case(n_users, n_videos, rng, 20, [](uint32_t, uint32_t r) {
    return (r == 0 ? kTrain : 0) | (r == 1 ? kTest : 0);
  });
  for (const uint32_t f : {37u, 3u}) {
    INFO("factors " << f);
    std::normal_distribution<float> normal;
    std::vector<float> uf(n_users * f), vf(n_videos * f);
    for (float& x : uf) x = f == 3 ? float(int(rng() % 3) - 1) : normal(rng);
    for (float& x : vf) x = f == 3 ? float(int(rng() % 3) - 1) * 0.5f : normal(rng);
    if (f == 3) std::fill(uf.begin(), uf.begin() + 2 * f, 0.0f);  // users 0 and 1
    test::TempDir dir;
    const Model m = make_model(dir, data_of(rc.users, rc.videos, rc.train), f, uf, vf);
    const Dataset t = make_test(dir, data_of(rc.users, rc.videos, rc.test));
    for (uint32_t k : {1u, 10u, 400u}) {
      INFO("k " << k);
      check_lists_are_recommends(m, t, k);
    }
  }
}

TEST_CASE("videos with identical factors: evaluate and recommend order them alike", "[evaluate]") {
  test::TempDir dir;
  // v1 and v2 have the same factors: u0 (1, 1) scores v0 0, v1 2, v2 2, v3 1;
  // training u0 {v0}, u1 {v3}. Both tools put v1 (the lower index) first.
  const Model m = make_model(dir, data_of({"u0", "u1"}, {"v0", "v1", "v2", "v3"}, {{0}, {3}}), 2,
                             {1, 1, 1, 1}, {0, 0, 1, 1, 1, 1, 0.5f, 0.5f});
  // Test: u0 {v2}, u1 {v1}.
  const Dataset t = make_test(dir, data_of({"u0", "u1"}, {"v1", "v2"}, {{1}, {0}}));
  RecommendOptions ro;
  ro.k = 2;
  const Recommender rec(m, ro);
  for (const char* user : {"u0", "u1"}) {
    const auto r = rec.for_user(user);
    REQUIRE(r.items.size() == 2);
    CHECK(r.items[0].video == 1);
    CHECK(r.items[1].video == 2);
  }
  check_lists_are_recommends(m, t, 2);
  // k = 1: both lists are [v1]: u0 misses (its v2 is the twin ranked
  // second), u1 hits.
  const EvaluateReport one = evaluate(m, t, cfg_k(1));
  CHECK(one.model.precision == Approx(0.5));
  // k = 2: u0 hits at rank 2 (AP 1/2, NDCG 1/log2(3)), u1 at rank 1.
  const EvaluateReport two = evaluate(m, t, cfg_k(2));
  CHECK(two.model.map == Approx((0.5 + 1) / 2));
  CHECK(two.model.ndcg == Approx((1 / std::log2(3.0) + 1) / 2));
  // AUC, ties 1/2: u0 (candidates v1 2, v2 2, v3 1; R = {v2}): (1/2 + 1) / 2;
  // u1 (candidates v0 0, v1 2, v2 2; R = {v1}): (1 + 1/2) / 2.
  CHECK(two.model.auc == Approx(0.75));
}

TEST_CASE("metrics per segment of user activity, by hand", "[evaluate]") {
  // One factor; videos v00..v24 with factors 25, 24, ..., 1 and every user's
  // factor 1, so the model ranks candidates by index. k = 2, g = 1/log2(3).
  // Training (pairs -> segment): uA {v0} (1: 1-4), uD {v1, v2} (2: 1-4),
  // uB {v0..v4} (5: 5-19), uC {v0..v19} (20: 20+), uE {} (0: no segment).
  std::vector<std::string> videos;
  std::vector<float> vf;
  for (uint32_t v = 0; v < 25; ++v) {
    videos.push_back((v < 10 ? "v0" : "v") + std::to_string(v));
    vf.push_back(float(25 - v));
  }
  std::vector<uint32_t> first5, first20;
  for (uint32_t v = 0; v < 20; ++v) (v < 5 ? first5 : first20).push_back(v);
  first20.insert(first20.begin(), first5.begin(), first5.end());
  test::TempDir dir;
  const Model m =
      make_model(dir, data_of({"uA", "uB", "uC", "uD", "uE"}, videos, {{0}, first5, first20, {1, 2}, {}}), 1,
                 {1, 1, 1, 1, 1}, vf);
  // Test: uA {v1}, uB {v6}, uC {v20, v24}, uD {v5}, uE {v0}.
  //   uA: top [v1 v2], hit at 1: P 1/2, R 1, AP 1, NDCG 1.
  //   uB: top [v5 v6], hit at 2: P 1/2, R 1, AP 1/2, NDCG g.
  //   uC: top [v20 v21], hit at 1, |R| 2: P 1/2, R 1/2, AP 1/2, NDCG 1/(1+g).
  //   uD: top [v0 v3], no hit: all 0.
  //   uE: top [v0 v1], hit at 1: P 1/2, R 1, AP 1, NDCG 1.
  // Model AUC: uA 23/23 (v1 beats every other candidate); uD: v5 under v0,
  // v3, v4 of 22 others: 19/22; uB: v6 under v5 of 19: 18/19; uC: v20 over
  // v21..v23, v24 under them: 3/6; uE: v0 over all 24: 1.
  // Popularity: v0..v2 3 users, v3 v4 2, v5..v19 1, v20..v24 0, order by
  // index within ties: the lists are the model's. AUC, ties 1/2: uA: v1 ties
  // v2, beats 22: 22.5/23; uD: v5 under v0 v3 v4, ties v6..v19, beats 5:
  // 12/22; uB: v6 ties 14, beats 5: 12/19; uC: all tie: 1/2; uE: v0 ties v1
  // v2, beats 22: 23/24.
  const Dataset t =
      make_test(dir, data_of({"uA", "uB", "uC", "uD", "uE"}, videos, {{1}, {6}, {20, 24}, {5}, {0}}));
  const EvaluateReport r = evaluate(m, t, cfg_k(2));
  const double g = 1 / std::log2(3.0);
  CHECK(r.model.users == 5);
  REQUIRE(r.segments.size() == 3);
  const SegmentMetrics &s1 = r.segments[0], &s5 = r.segments[1], &s20 = r.segments[2];
  CHECK(s1.name == "1-4");
  CHECK(s5.name == "5-19");
  CHECK(s20.name == "20+");
  CHECK(s1.model.users == 2);
  CHECK(s5.model.users == 1);
  CHECK(s20.model.users == 1);

  CHECK(s1.model.precision == Approx(0.25));
  CHECK(s1.model.recall == Approx(0.5));
  CHECK(s1.model.map == Approx(0.5));
  CHECK(s1.model.ndcg == Approx(0.5));
  CHECK(s1.model.auc == Approx((1 + 19.0 / 22) / 2));
  CHECK(s1.model.recommended_videos == 4);  // v1 v2 v0 v3
  CHECK(s1.model.coverage == Approx(4.0 / 25));
  CHECK(s5.model.precision == Approx(0.5));
  CHECK(s5.model.recall == Approx(1));
  CHECK(s5.model.map == Approx(0.5));
  CHECK(s5.model.ndcg == Approx(g));
  CHECK(s5.model.auc == Approx(18.0 / 19));
  CHECK(s5.model.coverage == Approx(2.0 / 25));
  CHECK(s20.model.recall == Approx(0.5));
  CHECK(s20.model.map == Approx(0.5));
  CHECK(s20.model.ndcg == Approx(1 / (1 + g)));
  CHECK(s20.model.auc == Approx(0.5));

  CHECK(s1.popularity.users == 2);
  CHECK(s1.popularity.precision == Approx(0.25));
  CHECK(s1.popularity.auc == Approx((22.5 / 23 + 12.0 / 22) / 2));
  CHECK(s5.popularity.auc == Approx(12.0 / 19));
  CHECK(s20.popularity.auc == Approx(0.5));
  CHECK(s20.popularity.coverage == Approx(2.0 / 25));

  // The totals count uE too.
  CHECK(r.model.precision == Approx(0.5 * 4 / 5));
  CHECK(r.model.auc == Approx((1 + 19.0 / 22 + 18.0 / 19 + 0.5 + 1) / 5));
  CHECK(r.popularity.auc == Approx((22.5 / 23 + 12.0 / 22 + 12.0 / 19 + 0.5 + 23.0 / 24) / 5));

  const nlohmann::json j = r.to_json();
  REQUIRE(j["segments"].size() == 3);
  CHECK(j["segments"][1]["name"] == "5-19");
  CHECK(j["segments"][1]["users"] == 1);
  CHECK(j["segments"][1]["model"]["ndcg"].get<double>() == Approx(g));
  CHECK(j["segments"][0]["popularity"]["users"] == 2);
  const std::string text = r.to_text();
  CHECK(text.find("by training pairs per user") != std::string::npos);
  CHECK(text.find("5-19     model             1       0.5000") != std::string::npos);
}

TEST_CASE("evaluate_cutoffs: one pass gives evaluate's report at every k, also for a subset of users",
          "[evaluate]") {
  // 300 users (several score blocks), 40 videos, 4 factors; lists of up to
  // 30 run out of candidates for some users (short lists).
  const uint32_t n_users = 300, n_videos = 40, f = 4;
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  const RandomCase rc = random_case(n_users, n_videos, rng, 10, [](uint32_t u, uint32_t r) {
    return (r < 3 + u % 5 ? kTrain : 0) | (r == 8 || (r == 9 && u % 3) ? kTest : 0);
  });
  std::vector<float> uf(n_users * f), vf(n_videos * f);
  for (float& x : uf) x = normal(rng);
  for (float& x : vf) x = normal(rng);
  test::TempDir dir;
  const Model m = make_model(dir, data_of(rc.users, rc.videos, rc.train), f, uf, vf);
  const Dataset t = make_test(dir, data_of(rc.users, rc.videos, rc.test));
  std::vector<uint32_t> cutoffs;
  for (uint32_t k = 1; k <= 30; ++k) cutoffs.push_back(k);
  const std::vector<EvaluateReport> all = evaluate_cutoffs(m, t, cutoffs, 2);
  REQUIRE(all.size() == cutoffs.size());
  for (uint32_t k : {1u, 2u, 7u, 10u, 29u, 30u})
    CHECK(all[k - 1].to_json() == evaluate(m, t, cfg_k(k, 3)).to_json());

  // A subset: the same figures as a test set holding only those users' pairs.
  std::vector<uint32_t> subset;
  std::vector<std::vector<uint32_t>> only(n_users);
  for (uint32_t u = 0; u < n_users; u += 7) {
    subset.push_back(u);
    only[u] = rc.test[u];
  }
  test::TempDir dir2;
  const Dataset t2 = make_test(dir2, data_of(rc.users, rc.videos, only));
  const std::vector<EvaluateReport> part = evaluate_cutoffs(m, t, {5, 10}, 1, &subset);
  for (size_t c = 0; c < 2; ++c) {
    nlohmann::json got = part[c].to_json(), want = evaluate(m, t2, cfg_k(c ? 10 : 5)).to_json();
    CHECK(got["test_pairs"] == t.nnz());  // of the whole test file
    got.erase("test_pairs");
    want.erase("test_pairs");
    CHECK(got == want);
  }

  CHECK_THROWS_AS(evaluate_cutoffs(m, t, {}, 1), ConfigError);
  CHECK_THROWS_AS(evaluate_cutoffs(m, t, {5, 3}, 1), ConfigError);
  CHECK_THROWS_AS(evaluate_cutoffs(m, t, {3, 3}, 1), ConfigError);
  CHECK_THROWS_AS(evaluate_cutoffs(m, t, {0, 3}, 1), ConfigError);
  const std::vector<uint32_t> bad = {n_users};
  CHECK_THROWS_AS(evaluate_cutoffs(m, t, {3}, 1, &bad), ConfigError);
}
