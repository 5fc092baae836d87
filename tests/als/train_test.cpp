// SPDX-License-Identifier: MIT
// The train stage end to end, and ranking quality against a popularity
// baseline on data with planted taste structure.
#include "vidrec/als/train.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/model/model.hpp"

using namespace vidrec;

namespace {

std::string id(const char* prefix, uint32_t i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%s%05u", prefix, i);
  return buf;
}

// Users belong to one of `groups` tastes; each group watches its own block of
// videos (Zipf-popular within the block), plus 10% noise across the catalogue.
// Interactions get increasing timestamps per user, so the last 20% are a
// time-based holdout.
struct Planted {
  DatasetData train;
  std::vector<std::set<uint32_t>> test;  // per user, held-out videos
};

Planted planted(uint32_t users, uint32_t videos, uint32_t groups, uint32_t per_user, unsigned seed) {
  std::mt19937 rng(seed);
  const uint32_t block = videos / groups;
  std::vector<double> zipf(block);
  for (uint32_t i = 0; i < block; ++i) zipf[i] = 1.0 / (i + 1);
  std::discrete_distribution<uint32_t> in_block(zipf.begin(), zipf.end());
  Planted p;
  for (uint32_t u = 0; u < users; ++u) p.train.user_ids.push_back(id("u", u));
  for (uint32_t v = 0; v < videos; ++v) p.train.video_ids.push_back(id("v", v));
  p.train.indptr.push_back(0);
  p.test.resize(users);
  for (uint32_t u = 0; u < users; ++u) {
    const uint32_t g = u % groups;
    std::vector<uint32_t> seq;
    std::set<uint32_t> seen;
    while (seq.size() < per_user) {
      const uint32_t v = rng() % 10 == 0 ? uint32_t(rng() % videos) : g * block + in_block(rng);
      if (seen.insert(v).second) seq.push_back(v);
    }
    const size_t n_train = seq.size() - seq.size() / 5;
    std::vector<uint32_t> tr(seq.begin(), seq.begin() + int64_t(n_train));
    std::sort(tr.begin(), tr.end());
    for (uint32_t v : tr) {
      p.train.indices.push_back(v);
      p.train.weights.push_back(float(1 + rng() % 3));
      p.train.events.push_back(1);
      p.train.first_ts.push_back(0);
      p.train.last_ts.push_back(0);
    }
    p.train.indptr.push_back(p.train.indices.size());
    p.test[u].insert(seq.begin() + int64_t(n_train), seq.end());
  }
  return p;
}

// NDCG@k with binary relevance, ideal DCG over min(k, relevant); seen videos
// excluded; scores from `score(u, v)`.
template <class Score>
double ndcg_at(const Model& m, const std::vector<std::set<uint32_t>>& test, uint32_t k, Score score) {
  double total = 0;
  uint32_t evaluated = 0;
  for (uint32_t u = 0; u < m.n_users(); ++u) {
    if (test[u].empty()) continue;
    const std::set<uint32_t> seen(m.seen_begin(u), m.seen_end(u));
    std::vector<std::pair<double, uint32_t>> cand;
    for (uint32_t v = 0; v < m.n_videos(); ++v)
      if (!seen.count(v)) cand.push_back({score(u, v), v});
    std::partial_sort(cand.begin(), cand.begin() + k, cand.end(), [](auto& a, auto& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    });
    double dcg = 0, idcg = 0;
    for (uint32_t r = 0; r < k; ++r) {
      if (test[u].count(cand[r].second)) dcg += 1 / std::log2(r + 2.0);
      if (r < test[u].size()) idcg += 1 / std::log2(r + 2.0);
    }
    total += dcg / idcg;
    ++evaluated;
  }
  return total / evaluated;
}

}  // namespace

TEST_CASE("ALS ranks held-out videos far better than popularity", "[train][quality]") {
  test::TempDir dir;
  const Planted p = planted(2000, 600, 12, 25, 17);
  write_dataset(p.train, dir.file("d.vrd"));
  TrainConfig cfg;
  cfg.dataset = dir.file("d.vrd");
  cfg.output = dir.file("m.vrm");
  cfg.als.factors = 16;
  cfg.als.iterations = 10;
  cfg.progress = false;
  run_train(cfg);
  const Model m = Model::open(cfg.output);
  const uint32_t f = m.factors();
  const double als = ndcg_at(m, p.test, 10, [&](uint32_t u, uint32_t v) {
    double s = 0;
    for (uint32_t k = 0; k < f; ++k) s += double(m.user_vector(u)[k]) * m.video_vector(v)[k];
    return s;
  });
  const double pop = ndcg_at(m, p.test, 10, [&](uint32_t, uint32_t v) { return double(m.popularity()[v]); });
  INFO("NDCG@10 ALS " << als << " popularity " << pop);
  CHECK(als > 2 * pop);
  CHECK(als > 0.15);
}

TEST_CASE("train is deterministic and thread-count independent", "[train]") {
  test::TempDir dir;
  write_dataset(planted(300, 120, 4, 12, 3).train, dir.file("d.vrd"));
  TrainConfig cfg;
  cfg.dataset = dir.file("d.vrd");
  cfg.als.factors = 8;
  cfg.als.iterations = 3;
  cfg.progress = false;
  uint64_t sums[3];
  const unsigned threads[3] = {1, 1, 2};
  for (int i = 0; i < 3; ++i) {
    cfg.output = dir.file("m" + std::to_string(i) + ".vrm");
    cfg.als.threads = threads[i];
    run_train(cfg);
    sums[i] = Model::open(cfg.output).factors_checksum();
  }
  CHECK(sums[0] == sums[1]);
  CHECK(sums[0] == sums[2]);
  cfg.als.seed = 43;
  cfg.output = dir.file("other.vrm");
  run_train(cfg);
  CHECK(Model::open(cfg.output).factors_checksum() != sums[0]);
}

TEST_CASE("train fails fast and refuses a second writer", "[train]") {
  test::TempDir dir;
  write_dataset(planted(50, 40, 2, 8, 5).train, dir.file("d.vrd"));
  TrainConfig cfg;
  cfg.dataset = dir.file("missing.vrd");
  cfg.output = dir.file("m.vrm");
  cfg.progress = false;
  cfg.als.factors = 0;  // the config is checked before the dataset is opened
  CHECK_THROWS_AS(run_train(cfg), ConfigError);
  cfg.als.factors = 4;
  CHECK_THROWS_WITH(run_train(cfg), Catch::Contains("missing.vrd"));
  cfg.dataset = dir.file("d.vrd");
  {
    OutputLock held(cfg.output);
    CHECK_THROWS_WITH(run_train(cfg), Catch::Contains("another vidrec is writing"));
  }
  CHECK_NOTHROW(run_train(cfg));
  cfg.output = dir.file("no/such/dir/m.vrm");
  CHECK_THROWS_AS(run_train(cfg), IoError);
}
