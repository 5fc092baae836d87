// SPDX-License-Identifier: MIT
#include "vidrec/explain/explain.hpp"

#include <armadillo>
#include <catch2/catch.hpp>
#include <cmath>

#include "test_util.hpp"
#include "vidrec/als/solver.hpp"
#include "vidrec/als/train.hpp"
#include "vidrec/als/warm_start.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/serve/history_file.hpp"

using namespace vidrec;

namespace {

// 30 users x 20 videos; weights from 0.5 to 4, a few negative (dislikes),
// timestamps spread over 40 days (for the decay).
DatasetData small_data(uint32_t users = 30, uint32_t shift = 0) {
  DatasetData d;
  for (uint32_t u = 0; u < users; ++u) d.user_ids.push_back("u" + std::to_string(100 + u + shift));
  for (uint32_t v = 0; v < 20; ++v) d.video_ids.push_back("v" + std::to_string(100 + v));
  d.indptr = {0};
  for (uint32_t u = 0; u < users; ++u) {
    for (uint32_t v = (u + shift) % 5; v < 20; v += 2 + (u + shift) % 3) {
      d.indices.push_back(v);
      const uint32_t h = (u + shift) * 31 + v * 7;
      d.weights.push_back(h % 11 == 0 ? -1.5f : 0.5f + float(h % 8) * 0.5f);
      d.last_ts.push_back(1700000000 + int64_t(h % 40) * 86400);
    }
    d.indptr.push_back(d.indices.size());
  }
  d.events.assign(d.indices.size(), 1);
  d.first_ts = d.last_ts;
  return d;
}

TrainConfig options_config(const test::TempDir& dir, bool extras) {
  TrainConfig c;
  c.dataset = dir.file("d.vrd");
  c.output = dir.file("m.vrm");
  c.progress = false;
  c.als.factors = 5;
  c.als.iterations = 40;
  c.als.solver = AlsConfig::Solver::Cholesky;
  c.als.threads = 1;
  c.als.regularization = 0.1f;
  c.als.alpha = 2.0f;
  if (extras) {
    c.als.unobserved_weight = 0.5f;
    c.als.reg_exponent = 0.5f;
    c.als.negative_weight = 0.7f;
    c.als.confidence = AlsConfig::Confidence::Log;
    c.weighting.scheme = Weighting::Scheme::Bm25;
    c.weighting.half_life = 10 * 86400.0;
  }
  return c;
}

// small_data trained with the plain options for `iterations`.
TrainConfig train_small(const test::TempDir& dir, uint32_t iterations) {
  write_dataset(small_data(), dir.file("d.vrd"));
  TrainConfig cfg = options_config(dir, false);
  cfg.als.iterations = iterations;
  run_train(cfg);
  return cfg;
}

// The dense reference: C_u over every video (alpha0 for unobserved pairs),
// A = Y^T C_u Y + lambda_u I and b = Y^T C_u p_u built entry by entry in
// double; contribution j = score(b) - score(b without j's term), W fixed.
struct Dense {
  arma::vec x;
  arma::mat W;
  arma::mat Y;   // n x f
  arma::vec cp;  // c_j p_j per video
};

Dense dense_reference(const Model& m, const AlsConfig& c, const std::vector<uint32_t>& videos,
                      const std::vector<double>& weights) {
  const uint32_t n = m.n_videos(), f = m.factors();
  Dense d;
  d.Y.set_size(n, f);
  for (uint32_t v = 0; v < n; ++v)
    for (uint32_t a = 0; a < f; ++a) d.Y(v, a) = m.video_vector(v)[a];
  arma::vec conf(n), p(n, arma::fill::zeros);
  conf.fill(c.unobserved_weight);
  uint64_t positives = 0;
  for (size_t j = 0; j < videos.size(); ++j) {
    const double w = weights[j];
    const double cw = c.confidence == AlsConfig::Confidence::Linear
                          ? 1 + c.alpha * std::abs(w)
                          : 1 + c.alpha * std::log(1 + std::abs(w) / c.epsilon);
    if (w > 0) {
      conf[videos[j]] = cw;
      p[videos[j]] = 1;
      ++positives;
    } else if (w < 0) {
      conf[videos[j]] = c.unobserved_weight + c.negative_weight * (cw - 1);
    }
  }
  const double lambda =
      c.regularization * std::pow(double(positives) + c.unobserved_weight * n, double(c.reg_exponent));
  const arma::mat A = d.Y.t() * arma::diagmat(conf) * d.Y + lambda * arma::eye(f, f);
  d.W = arma::inv_sympd(A);
  d.cp = conf % p;
  d.x = d.W * d.Y.t() * d.cp;
  return d;
}

}  // namespace

TEST_CASE("explain: contributions match a dense solve, with and without the extra options", "[explain]") {
  for (const bool extras : {false, true}) {
    test::TempDir dir;
    write_dataset(small_data(), dir.file("d.vrd"));
    const TrainConfig cfg = options_config(dir, extras);
    run_train(cfg);
    const Model m = Model::open(cfg.output);
    const Dataset ds = Dataset::open(cfg.dataset);
    // The weights the model keeps are those training solved with.
    std::optional<WeightedMatrix> wm;
    if (extras) wm = apply_weighting(ds.user_items(), ds.item_users(), ds.last_ts(), cfg.weighting);
    const FoldIn fi = FoldIn::of(m);
    const arma::fmat Yf(m.video_factors(), m.factors(), m.n_videos());
    arma::fmat resolved(m.factors(), m.n_users(), arma::fill::zeros);
    solve_half_sweep(wm ? wm->user_items : ds.user_items(), Yf, resolved, cfg.als);
    for (const uint32_t u : {0u, 7u, 19u}) {
      const auto [b, e] = m.seen(u);
      const float* kept = m.seen_weights(u);
      REQUIRE(kept);
      const uint64_t first = ds.user_items().indptr[u];
      std::vector<double> w;
      for (uint64_t k = 0; k < uint64_t(e - b); ++k) {
        const float want = wm ? wm->user_values[first + k] : ds.user_items().values[first + k];
        REQUIRE(kept[k] == want);
        w.push_back(kept[k]);
      }
      const Dense ref = dense_reference(m, cfg.als, std::vector<uint32_t>(b, e), w);
      const Explainer ex(m, stored_user_system(m, fi, u));
      for (const uint32_t v : {1u, 6u, 13u}) {
        double score = 0;
        const std::vector<Because> got = ex.contributions(v, &score);
        const arma::rowvec yv = ref.Y.row(v);
        const double full = arma::dot(yv, ref.x);
        CHECK(score == Approx(full).epsilon(1e-9).margin(1e-12));
        double sum = 0;
        for (size_t j = 0; j < got.size(); ++j) {
          if (j) CHECK(got[j - 1].contribution >= got[j].contribution);
          arma::vec without = ref.cp;
          without[got[j].video] = 0;
          const double expect = full - arma::dot(yv, ref.W * ref.Y.t() * without);
          CHECK(got[j].contribution == Approx(expect).epsilon(1e-8).margin(1e-12));
          sum += got[j].contribution;
        }
        CHECK(sum == Approx(score).epsilon(1e-12).margin(1e-15));
        // The re-solved user is training's own user step (solver.hpp, in
        // float) against the final video factors.
        const PairExplanation p = explain_pair(m, fi, u, v, 2);
        CHECK(p.score == Approx(double(arma::dot(resolved.col(u), Yf.col(v)))).epsilon(1e-4).margin(1e-5));
        double listed = p.other;
        for (const Because& c : p.top) listed += c.contribution;
        CHECK(listed == Approx(p.score).epsilon(1e-12).margin(1e-15));
      }
    }
  }
}

TEST_CASE("similar users: brute-force cosine, never the user itself", "[explain]") {
  test::TempDir dir;
  const TrainConfig cfg = train_small(dir, 3);
  const Model m = Model::open(cfg.output);
  RecommendOptions o;
  o.k = 7;
  const Recommender rec(m, o);
  for (uint32_t u = 0; u < m.n_users(); ++u) {
    const std::vector<Scored> got = rec.similar_users(u);
    std::vector<std::pair<double, uint32_t>> ref;
    const arma::fvec xu(const_cast<float*>(m.user_vector(u)), m.factors(), false, true);
    for (uint32_t w = 0; w < m.n_users(); ++w) {
      if (w == u) continue;
      const arma::fvec xw(const_cast<float*>(m.user_vector(w)), m.factors(), false, true);
      const arma::vec a = arma::conv_to<arma::vec>::from(xu), b = arma::conv_to<arma::vec>::from(xw);
      ref.emplace_back(-arma::dot(a, b) / (arma::norm(a) * arma::norm(b)), w);
    }
    std::sort(ref.begin(), ref.end());
    REQUIRE(got.size() == 7);
    for (size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].video != u);
      CHECK(got[i].score == Approx(-ref[i].first).margin(1e-6));
    }
  }
}

TEST_CASE("warm start: matched ids keep their factors, new ones the seeded init", "[explain][warm]") {
  test::TempDir dir;
  const TrainConfig cfg = train_small(dir, 4);
  const Model prev = Model::open(cfg.output);

  SECTION("identical data continues training exactly as train_als's initial does") {
    TrainConfig more = cfg;
    more.output = dir.file("warm.vrm");
    more.init_from = cfg.output;
    more.als.iterations = 3;
    run_train(more);
    TrainConfig all = cfg;
    all.output = dir.file("cold.vrm");
    all.als.iterations = 7;
    run_train(all);
    const Model warm = Model::open(more.output), cold = Model::open(all.output);
    CHECK(warm.factors_checksum() == cold.factors_checksum());
    CHECK(warm.meta()["warm_start"]["users_kept"] == 30);
  }
  SECTION("vanished and new users, by id") {
    // Users u105.. (5 left, 5 new): shifted by 5.
    write_dataset(small_data(30, 5), dir.file("d2.vrd"));
    const Dataset ds2 = Dataset::open(dir.file("d2.vrd"));
    const WarmStart s = warm_start(ds2, prev, cfg.als, cfg.weighting);
    CHECK(s.users_kept == 25);
    CHECK(s.videos_kept == 20);
    arma::fmat seeded(5, ds2.n_users());
    init_factors(seeded, cfg.als.seed, 0);
    for (uint32_t u = 0; u < ds2.n_users(); ++u) {
      const auto p = prev.find_user(ds2.user_id(u));
      const arma::fvec got = s.factors.user_factors.col(u);
      const arma::fvec want = p ? arma::fvec(prev.user_vector(*p), 5) : arma::fvec(seeded.col(u));
      CHECK(arma::approx_equal(got, want, "absdiff", 0.0f));
      CHECK(bool(p) == (u < 25));
    }
  }
  SECTION("mismatched factors or confidence are refused") {
    AlsConfig other = cfg.als;
    other.factors = 6;
    const Dataset ds = Dataset::open(cfg.dataset);
    CHECK_THROWS_WITH(warm_start(ds, prev, other, cfg.weighting), Catch::Contains("has 5 factors"));
    other = cfg.als;
    other.alpha = 3;
    CHECK_THROWS_AS(warm_start(ds, prev, other, cfg.weighting), ConfigError);
    Weighting w;
    w.scheme = Weighting::Scheme::TfIdf;
    CHECK_THROWS_WITH(warm_start(ds, prev, cfg.als, w), Catch::Contains("--weighting"));
  }
}

TEST_CASE("history file: header, quotes, and errors naming the line", "[explain]") {
  test::TempDir dir;
  test::write_text(dir.file("h.csv"), "videoId,value\r\nv1,2\n\n \"v,2\" , 0.5\n\"a\"\"b\",-1\n");
  const std::vector<HistoryItem> h = read_history_file(dir.file("h.csv"));
  REQUIRE(h.size() == 3);
  CHECK(h[0].video_id == "v1");
  CHECK(h[0].value == 2);
  CHECK(h[1].video_id == "v,2");
  CHECK(h[2].video_id == "a\"b");
  CHECK(h[2].value == -1);
  test::write_text(dir.file("bad.csv"), "v1,1\nv2,nan\n");
  CHECK_THROWS_WITH(read_history_file(dir.file("bad.csv")), Catch::Contains("bad.csv:2:"));
  test::write_text(dir.file("big.csv"), "v1,1e12\n");
  CHECK_THROWS_AS(read_history_file(dir.file("big.csv")), InputError);
  test::write_text(dir.file("q.csv"), "v1,1\n\"v2,1\n");
  CHECK_THROWS_WITH(read_history_file(dir.file("q.csv")), Catch::Contains("q.csv:2:"));
  CHECK_THROWS_AS(read_history_file("/dev/zero"), IoError);
}
