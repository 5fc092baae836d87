// SPDX-License-Identifier: MIT
#include "vidrec/als/weighting.hpp"

#include <catch2/catch.hpp>
#include <cmath>

#include "als/als_fixtures.hpp"
#include "vidrec/base/errors.hpp"

using vidrec::Weighting;

namespace {
// 3 users x 3 videos:
//   u0: v0 = 2, v1 = 4      (t = 100, 0)
//   u1: v1 = 1              (t = 50)
//   u2: v0 = -3, v2 = 6     (t = 100, 100)
vidrec::test::OwnedCsr small() {
  vidrec::test::OwnedCsr m;
  m.rows = m.cols = 3;
  m.indptr = {0, 2, 3, 5};
  m.indices = {0, 1, 1, 0, 2};
  m.values = {2, 4, 1, -3, 6};
  return m;
}
const int64_t kLast[] = {100, 0, 50, 100, 100};
}  // namespace

TEST_CASE("weighting: time decay halves per half-life from the newest event", "[als][weighting]") {
  const auto m = small();
  const auto t = vidrec::test::transpose(m);
  Weighting w;
  w.half_life = 50;
  const auto out = vidrec::apply_weighting(m.view(), t.view(), kLast, w);
  CHECK(out.stats.now == 100);
  const std::vector<float> want = {2, 4 * 0.25f, 1 * 0.5f, -3, 6};  // ages 0, 100, 50, 0, 0
  for (size_t e = 0; e < want.size(); ++e) CHECK(out.user_values[e] == Approx(want[e]));
  // The transpose: v0 (u0, u2), v1 (u0, u1), v2 (u2).
  const std::vector<float> want_t = {2, -3, 1.0f, 0.5f, 6};
  for (size_t e = 0; e < want_t.size(); ++e) CHECK(out.item_values[e] == Approx(want_t[e]));
  w.now = 200;  // every pair 100 older: a quarter
  const auto later = vidrec::apply_weighting(m.view(), t.view(), kLast, w);
  CHECK(later.user_values[0] == Approx(0.5));
}

TEST_CASE("weighting: BM25 and TF-IDF by hand", "[als][weighting]") {
  const auto m = small();
  const auto t = vidrec::test::transpose(m);
  // Positive pairs: df = (1, 2, 1); len = (6, 1, 6), avg 13/3; n_users = 3.
  const double idf0 = std::log(3.0) - std::log(2.0), idf1 = std::log(3.0) - std::log(3.0);
  Weighting w;
  w.scheme = Weighting::Scheme::Bm25;
  w.k1 = 2;
  w.b = 0.5f;
  const auto out = vidrec::apply_weighting(m.view(), t.view(), kLast, w);
  CHECK(out.stats.avg_len == Approx(13.0 / 3));
  const double norm0 = 0.5 + 0.5 * 6 / (13.0 / 3);
  CHECK(out.user_values[0] == Approx(2 * 3 / (2 * norm0 + 2) * idf0));
  // v1 has 2 of 3 users: idf = log 3 - log(1 + 2) = 0, kept just above 0.
  CHECK(idf1 == 0.0);
  CHECK(out.user_values[1] > 0.0f);
  CHECK(out.user_values[1] < 1e-12f);  // (log1p(2) and log(3) may differ in the last bit)
  CHECK(out.user_values[3] == -3.0f);  // negatives keep their weight
  CHECK(out.user_values[4] == Approx(6 * 3 / (2 * norm0 + 6) * idf0));
  // The fold-in formula gives the same weight from the same statistics.
  CHECK(vidrec::weight_fold_in(6, w, out.stats, 1, 6) == Approx(out.user_values[4]));
  w.scheme = Weighting::Scheme::TfIdf;
  const auto tf = vidrec::apply_weighting(m.view(), t.view(), kLast, w);
  CHECK(tf.user_values[0] == Approx(std::sqrt(2.0) * idf0));
  CHECK(tf.item_values[4] == Approx(std::sqrt(6.0) * idf0));
}

TEST_CASE("weighting: durations and names", "[als][weighting]") {
  CHECK(vidrec::parse_duration("30d") == 30 * 86400.0);
  CHECK(vidrec::parse_duration("12h") == 12 * 3600.0);
  CHECK(vidrec::parse_duration("90m") == 5400.0);
  CHECK(vidrec::parse_duration("2w") == 14 * 86400.0);
  CHECK(vidrec::parse_duration("3600") == 3600.0);
  CHECK(vidrec::parse_duration("1.5d") == 1.5 * 86400.0);
  for (const char* bad : {"", "d", "30x", "-1d", "30dd", "inf"})
    CHECK_THROWS_AS(vidrec::parse_duration(bad), vidrec::ConfigError);
  CHECK(vidrec::parse_scheme("bm25") == Weighting::Scheme::Bm25);
  CHECK_THROWS_MATCHES(vidrec::parse_scheme("BM-25"), vidrec::ConfigError,
                       Catch::Message("weighting must be one of none, bm25, tfidf, got 'BM-25'"));
  Weighting w;
  w.b = 1.5f;
  CHECK_THROWS_AS(w.validate(), vidrec::ConfigError);
}
