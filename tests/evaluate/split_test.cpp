// SPDX-License-Identifier: MIT
#include "vidrec/evaluate/split.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <random>
#include <tuple>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"

using namespace vidrec;

namespace {

// Everything a pair carries, keyed by (user id, video id).
using Pair = std::tuple<float, uint32_t, int64_t, int64_t>;
using Pairs = std::map<std::pair<std::string, std::string>, Pair>;

Pairs pairs_of(const DatasetData& d) {
  Pairs p;
  for (size_t u = 0; u + 1 < d.indptr.size(); ++u)
    for (uint64_t k = d.indptr[u]; k < d.indptr[u + 1]; ++k)
      p[{d.user_ids[u], d.video_ids[d.indices[k]]}] = {d.weights[k], d.events[k], d.first_ts[k],
                                                       d.last_ts[k]};
  return p;
}

// Timestamps from a small range so ties on last_ts (and on first_ts) occur.
DatasetData random_dataset(uint32_t users, uint32_t videos, double density, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> p(0, 1);
  DatasetData d;
  for (uint32_t u = 0; u < users; ++u) d.user_ids.push_back("u" + std::to_string(1000 + u));
  for (uint32_t v = 0; v < videos; ++v) d.video_ids.push_back("v" + std::to_string(1000 + v));
  d.indptr.push_back(0);
  for (uint32_t u = 0; u < users; ++u) {
    for (uint32_t v = 0; v < videos; ++v)
      if (p(rng) < density) {
        d.indices.push_back(v);
        d.weights.push_back(float(1 + rng() % 5));
        d.events.push_back(1 + rng() % 3);
        d.first_ts.push_back(int64_t(rng() % 4));
        d.last_ts.push_back(d.first_ts.back() + int64_t(rng() % 4));
      }
    d.indptr.push_back(d.indices.size());
  }
  return d;
}

Dataset store(const test::TempDir& dir, const DatasetData& d, const std::string& name) {
  write_dataset(d, dir.file(name));
  return Dataset::open(dir.file(name));
}

SplitConfig config(double fraction, SplitConfig::By by, uint64_t seed = 42) {
  SplitConfig c;
  c.test_fraction = fraction;
  c.by = by;
  c.seed = seed;
  return c;
}

}  // namespace

TEST_CASE("test_count is floor(n * fraction), robust to binary fractions", "[split]") {
  CHECK(test_count(4, 0.2) == 0);
  CHECK(test_count(5, 0.2) == 1);
  CHECK(test_count(9, 0.2) == 1);
  CHECK(test_count(10, 0.2) == 2);
  CHECK(test_count(100, 0.29) == 29);  // 100 * 0.29 is 28.999999999999996 in binary
  CHECK(test_count(0, 0.5) == 0);
}

TEST_CASE("split config rules", "[split]") {
  for (double bad : {0.0, 1.0, -0.1, 1.5, std::nan(""), HUGE_VAL}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(config(bad, SplitConfig::By::Time).validate(), ConfigError);
  }
  CHECK_THROWS_WITH(config(0.0, SplitConfig::By::Time).validate(),
                    "test-fraction must be > 0 and < 1, got 0");
  CHECK_NOTHROW(config(0.5, SplitConfig::By::Random).validate());
}

TEST_CASE("split by time holds out each user's most recent pairs (hand example)", "[split]") {
  test::TempDir dir;
  // u1 has 5 pairs, last_ts: a 10, b 30, c 20, d 30, e 5; first_ts of b and d
  // tie too (1), so b before d by video id. 0.4 * 5 = 2 held out: the two most
  // recent are b and d (last 30) -> test {b, d}, train {a, c, e}.
  // u2 has 2 pairs: floor(0.4 * 2) = 0, so it stays whole in train.
  // u3 has none.
  DatasetData d;
  d.user_ids = {"u1", "u2", "u3"};
  d.video_ids = {"a", "b", "c", "d", "e"};
  d.indptr = {0, 5, 7, 7};
  d.indices = {0, 1, 2, 3, 4, 0, 1};
  d.weights = {1, 2, 3, 4, 5, 6, 7};
  d.events = {1, 1, 2, 1, 3, 1, 1};
  d.first_ts = {0, 1, 2, 1, 5, 0, 0};
  d.last_ts = {10, 30, 20, 30, 5, 1, 2};
  const Dataset ds = store(dir, d, "in.vrd");
  const SplitParts p = split_dataset(ds, config(0.4, SplitConfig::By::Time));

  CHECK(p.test_users == 1);
  for (const DatasetData* part : {&p.train, &p.test}) {
    CHECK(part->user_ids == d.user_ids);
    CHECK(part->video_ids == d.video_ids);
  }
  CHECK(p.test.indptr == std::vector<uint64_t>{0, 2, 2, 2});
  CHECK(p.test.indices == std::vector<uint32_t>{1, 3});
  CHECK(p.test.weights == std::vector<float>{2, 4});
  CHECK(p.train.indptr == std::vector<uint64_t>{0, 3, 5, 5});
  CHECK(p.train.indices == std::vector<uint32_t>{0, 2, 4, 0, 1});
  CHECK(p.train.events == std::vector<uint32_t>{1, 2, 3, 1, 1});
  CHECK(p.train.last_ts == std::vector<int64_t>{10, 20, 5, 1, 2});

  // With first_ts breaking the tie instead: d starts later than b, so with one
  // pair held out (0.2 * 5) it is d.
  d.first_ts[3] = 3;
  const SplitParts q = split_dataset(store(dir, d, "in2.vrd"), config(0.2, SplitConfig::By::Time));
  CHECK(q.test.indices == std::vector<uint32_t>{3});
}

TEST_CASE("split invariants on random data, by time and by random", "[split]") {
  test::TempDir dir;
  const DatasetData d = random_dataset(60, 40, 0.3, 7);
  const Dataset ds = store(dir, d, "in.vrd");
  const Pairs all = pairs_of(d);
  for (auto by : {SplitConfig::By::Time, SplitConfig::By::Random}) {
    for (double fraction : {0.1, 0.2, 0.5, 0.9}) {
      CAPTURE(int(by), fraction);
      const SplitParts p = split_dataset(ds, config(fraction, by));
      const Pairs train = pairs_of(p.train), test = pairs_of(p.test);
      // Every pair in exactly one part, with its data unchanged.
      CHECK(train.size() + test.size() == all.size());
      Pairs both = train;
      both.insert(test.begin(), test.end());
      CHECK(both == all);
      // Per user: floor(n * fraction) in test; parts stay ascending by video.
      uint32_t users_with_test = 0;
      for (uint32_t u = 0; u < ds.n_users(); ++u) {
        const uint64_t n = d.indptr[u + 1] - d.indptr[u];
        const uint64_t held = p.test.indptr[u + 1] - p.test.indptr[u];
        CHECK(held == test_count(n, fraction));
        users_with_test += held > 0;
        for (const DatasetData* part : {&p.train, &p.test})
          for (uint64_t k = part->indptr[u] + 1; k < part->indptr[u + 1]; ++k)
            CHECK(part->indices[k - 1] < part->indices[k]);
        if (by != SplitConfig::By::Time) continue;
        // Every test pair is at least as recent as every train pair of the user
        // in the documented order (last_ts, first_ts, video).
        for (uint64_t i = p.test.indptr[u]; i < p.test.indptr[u + 1]; ++i)
          for (uint64_t j = p.train.indptr[u]; j < p.train.indptr[u + 1]; ++j)
            CHECK(std::make_tuple(p.train.last_ts[j], p.train.first_ts[j], p.train.indices[j]) <
                  std::make_tuple(p.test.last_ts[i], p.test.first_ts[i], p.test.indices[i]));
      }
      CHECK(users_with_test == p.test_users);
      // Written and read back as valid datasets with the full id lists.
      const Dataset tr = store(dir, p.train, "train.vrd"), te = store(dir, p.test, "test.vrd");
      CHECK(tr.n_users() == ds.n_users());
      CHECK(te.n_videos() == ds.n_videos());
      CHECK(tr.nnz() + te.nnz() == ds.nnz());
    }
  }
}

TEST_CASE("random split: same seed same parts, another seed other parts", "[split]") {
  test::TempDir dir;
  const Dataset ds = store(dir, random_dataset(60, 40, 0.3, 11), "in.vrd");
  const auto test_pairs = [&](uint64_t seed) {
    return pairs_of(split_dataset(ds, config(0.3, SplitConfig::By::Random, seed)).test);
  };
  CHECK(test_pairs(1) == test_pairs(1));
  CHECK(test_pairs(1) != test_pairs(2));
  CHECK(test_pairs(1) != pairs_of(split_dataset(ds, config(0.3, SplitConfig::By::Time)).test));
}

TEST_CASE("run_split writes both parts with provenance, and checks its inputs", "[split]") {
  test::TempDir dir;
  const Dataset ds = store(dir, random_dataset(30, 20, 0.4, 3), "in.vrd");
  SplitStageConfig cfg;
  cfg.dataset = dir.file("in.vrd");
  cfg.train_output = dir.file("train.vrd");
  cfg.test_output = dir.file("test.vrd");
  cfg.split = config(0.25, SplitConfig::By::Random, 9);
  const SplitReport rep = run_split(cfg);
  CHECK(rep.train_pairs + rep.test_pairs == ds.nnz());
  CHECK(rep.users == 30);
  const Dataset te = Dataset::open(cfg.test_output);
  const auto& prov = te.provenance();
  CHECK(prov["part"] == "test");
  CHECK(prov["split"]["by"] == "random");
  CHECK(prov["split"]["test_fraction"] == 0.25);
  CHECK(prov["split"]["seed"] == 9);
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(ds.content_checksum()));
  CHECK(prov["input"]["content_checksum"] == hex);
  CHECK(Dataset::open(cfg.train_output).provenance()["part"] == "train");

  SplitStageConfig same = cfg;
  same.test_output = same.train_output;
  CHECK_THROWS_AS(run_split(same), ConfigError);
  SplitStageConfig bad = cfg;
  bad.split.test_fraction = 1;
  CHECK_THROWS_AS(run_split(bad), ConfigError);
  SplitStageConfig missing = cfg;
  missing.dataset = dir.file("none.vrd");
  CHECK_THROWS_WITH(run_split(missing), Catch::Contains("none.vrd"));

  // Users with 1 pair each: nobody can hold out 0.2 of it.
  DatasetData thin;
  thin.user_ids = {"a", "b"};
  thin.video_ids = {"x"};
  thin.indptr = {0, 1, 2};
  thin.indices = {0, 0};
  thin.weights = {1, 1};
  thin.events = {1, 1};
  thin.first_ts = thin.last_ts = {0, 0};
  store(dir, thin, "thin.vrd");
  SplitStageConfig few = cfg;
  few.dataset = dir.file("thin.vrd");
  few.split.test_fraction = 0.2;
  CHECK_THROWS_WITH(run_split(few), Catch::Contains("needs at least 5 distinct videos"));
}

TEST_CASE("split keeps every user's location in both parts", "[split][location]") {
  test::TempDir dir;
  DatasetData d = random_dataset(30, 20, 0.3, 3);
  d.locations.ids = {"DE", "FR"};
  for (uint32_t u = 0; u < 30; ++u) d.locations.of_user.push_back(u % 3 == 2 ? kNoLocation : u % 2);
  const SplitParts p = split_dataset(store(dir, d, "in.vrd"), config(0.5, SplitConfig::By::Random));
  const std::pair<const DatasetData*, const char*> parts[] = {{&p.train, "train.vrd"}, {&p.test, "test.vrd"}};
  for (const auto& [data, name] : parts) {
    INFO(name);
    const Dataset out = store(dir, *data, name);
    REQUIRE(out.n_locations() == 2);
    CHECK(out.location_id(1) == "FR");
    for (uint32_t u = 0; u < 30; ++u) CHECK(out.user_location(u) == d.locations.of_user[u]);
  }
}
