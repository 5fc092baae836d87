// SPDX-License-Identifier: MIT
#include "vidrec/als/loop.hpp"

#include <armadillo>
#include <catch2/catch.hpp>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "als/als_fixtures.hpp"
#include "vidrec/base/errors.hpp"

using vidrec::AlsConfig;
using vidrec::ConfigError;

namespace {

using vidrec::test::bits_equal;
using vidrec::test::clustered_csr;
using vidrec::test::OwnedCsr;
using vidrec::test::transpose;

struct Fixture {
  OwnedCsr user_items = clustered_csr(120, 80, 4, 1);
  OwnedCsr item_users = transpose(user_items);
  AlsConfig cfg = [] {
    AlsConfig c;
    c.factors = 8;
    c.iterations = 8;
    c.regularization = 0.1f;
    c.alpha = 5.0f;
    c.threads = 2;
    return c;
  }();
  vidrec::AlsTrainResult train() const {
    return vidrec::train_als(user_items.view(), item_users.view(), cfg);
  }
};

}  // namespace

TEST_CASE("exact ALS never increases the training loss", "[als]") {
  Fixture fx;
  fx.cfg.solver = AlsConfig::Solver::Cholesky;
  fx.cfg.compute_loss = true;
  fx.cfg.iterations = 12;
  for (auto conf : {AlsConfig::Confidence::Linear, AlsConfig::Confidence::Log}) {
    fx.cfg.confidence = conf;
    const auto loss = fx.train().stats.loss;
    REQUIRE(loss.size() == 12);
    for (size_t i = 1; i < loss.size(); ++i) {
      INFO("iteration " << i + 1 << ": " << loss[i - 1] << " -> " << loss[i]);
      CHECK(loss[i] <= loss[i - 1] * (1.0 + 1e-6));
    }
    CHECK(loss.back() < 0.9 * loss.front());
  }
}

TEST_CASE("CG training gets close to the exact solver's loss", "[als]") {
  Fixture fx;
  fx.cfg.compute_loss = true;
  fx.cfg.iterations = 15;
  const double cg = fx.train().stats.loss.back();
  fx.cfg.solver = AlsConfig::Solver::Cholesky;
  const double exact = fx.train().stats.loss.back();
  CHECK(cg < exact * 1.02);
}

TEST_CASE("training is deterministic for a seed, whatever the thread count", "[als]") {
  Fixture fx;
  for (auto solver : {AlsConfig::Solver::CG, AlsConfig::Solver::Cholesky}) {
    fx.cfg.solver = solver;
    fx.cfg.threads = 2;
    const auto a = fx.train().factors;
    const auto b = fx.train().factors;
    fx.cfg.threads = 3;
    const auto c = fx.train().factors;
    CHECK(bits_equal(a.user_factors, b.user_factors));
    CHECK(bits_equal(a.item_factors, b.item_factors));
    CHECK(bits_equal(a.user_factors, c.user_factors));
    CHECK(bits_equal(a.item_factors, c.item_factors));
  }
  const auto first = fx.train().factors;
  fx.cfg.seed = 43;
  CHECK_FALSE(bits_equal(first.user_factors, fx.train().factors.user_factors));
}

TEST_CASE("trained factors have the documented shapes; progress is reported", "[als]") {
  Fixture fx;
  std::vector<uint32_t> seen;
  const auto result = vidrec::train_als(fx.user_items.view(), fx.item_users.view(), fx.cfg,
                                        [&](uint32_t it, double seconds, double loss) {
                                          seen.push_back(it);
                                          CHECK(seconds >= 0.0);
                                          CHECK(std::isnan(loss));  // compute_loss is off
                                        });
  CHECK(seen == std::vector<uint32_t>{1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(result.factors.user_factors.n_rows == 8);
  CHECK(result.factors.user_factors.n_cols == 120);
  CHECK(result.factors.item_factors.n_cols == 80);
  CHECK(result.stats.iteration_seconds.size() == 8);
  CHECK(result.stats.loss.empty());
}

TEST_CASE("trained factors rank a user's own block first", "[als]") {
  Fixture fx;
  fx.cfg.iterations = 10;
  const auto f = fx.train().factors;
  uint32_t hits = 0;
  for (uint32_t u = 0; u < fx.user_items.rows; ++u) {
    const arma::frowvec scores = f.user_factors.col(u).t() * f.item_factors;
    hits += scores.index_max() % 4 == u % 4;
  }
  CHECK(hits > 0.9 * fx.user_items.rows);
}

TEST_CASE("divergence is reported with a hint", "[als]") {
  Fixture fx;
  fx.cfg.regularization = 0.0f;
  fx.cfg.alpha = 3e38f;  // confidences overflow to inf
  CHECK_THROWS_AS(fx.train(), vidrec::InputError);
  CHECK_THROWS_WITH(fx.train(), Catch::Matchers::Contains("try increasing --regularization"));
  CHECK_THROWS_WITH(fx.train(), Catch::Matchers::Contains("beyond what float32 resolves"));
}

TEST_CASE("a non-finite weight (datasets of earlier versions) is refused before training", "[als]") {
  for (const float bad : {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
    Fixture fx;
    fx.user_items.values[fx.user_items.values.size() / 2] = bad;
    fx.item_users = transpose(fx.user_items);
    CHECK_THROWS_WITH(fx.train(), Catch::Matchers::Contains("non-finite weight") &&
                                      Catch::Matchers::Contains("run prepare again"));
  }
}

TEST_CASE("train_als rejects a second matrix that is not the transpose", "[als]") {
  Fixture fx;
  CHECK_THROWS_AS(vidrec::train_als(fx.user_items.view(), fx.user_items.view(), fx.cfg),
                  std::invalid_argument);
}

TEST_CASE("config validation: each rule", "[als][config]") {
  const auto fails = [](auto edit, const char* message) {
    AlsConfig cfg;
    edit(cfg);
    CHECK_THROWS_MATCHES(cfg.validate(), ConfigError, Catch::Message(message));
  };
  CHECK_NOTHROW(AlsConfig{}.validate());
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  fails([](AlsConfig& c) { c.factors = 0; }, "factors must be between 1 and 4096, got 0");
  fails([](AlsConfig& c) { c.factors = 4097; }, "factors must be between 1 and 4096, got 4097");
  fails([](AlsConfig& c) { c.iterations = 0; }, "iterations must be >= 1, got 0");
  fails([](AlsConfig& c) { c.regularization = -0.5f; }, "regularization must be finite and >= 0, got -0.5");
  fails([&](AlsConfig& c) { c.regularization = nan; }, "regularization must be finite and >= 0, got nan");
  fails([](AlsConfig& c) { c.alpha = -1.0f; }, "alpha must be finite and >= 0, got -1");
  fails([&](AlsConfig& c) { c.alpha = inf; }, "alpha must be finite and >= 0, got inf");
  fails([](AlsConfig& c) { c.epsilon = 0.0f; }, "epsilon must be finite and > 0, got 0");
  fails([](AlsConfig& c) { c.cg_steps = 0; }, "cg-steps must be >= 1, got 0");
  fails([](AlsConfig& c) { c.threads = 5000; }, "threads must be <= 4096 (0 = all cores), got 5000");
  fails([](AlsConfig& c) { c.unobserved_weight = 0.0f; },
        "unobserved-weight must be finite, > 0 and <= 1e6, got 0");
  fails([](AlsConfig& c) { c.reg_exponent = 3.0f; }, "reg-exponent must be between 0 and 2, got 3");
  fails([](AlsConfig& c) { c.negative_weight = -1.0f; }, "negative-weight must be finite and >= 0, got -1");
  Fixture fx;
  fx.cfg.factors = 0;
  CHECK_THROWS_AS(fx.train(), ConfigError);
}

TEST_CASE("a warm start continues training exactly: i + j iterations equal i+j", "[als]") {
  Fixture fx;
  fx.cfg.unobserved_weight = 0.2f;
  fx.cfg.reg_exponent = 0.5f;
  fx.cfg.iterations = 5;
  const auto whole = fx.train();
  fx.cfg.iterations = 2;
  const auto first = fx.train();
  fx.cfg.iterations = 3;
  const auto rest = vidrec::train_als(fx.user_items.view(), fx.item_users.view(), fx.cfg, {}, &first.factors);
  CHECK(bits_equal(whole.factors.user_factors, rest.factors.user_factors));
  CHECK(bits_equal(whole.factors.item_factors, rest.factors.item_factors));
  vidrec::AlsModelFactors wrong{arma::fmat(fx.cfg.factors + 1, 120), first.factors.item_factors};
  CHECK_THROWS_AS(vidrec::train_als(fx.user_items.view(), fx.item_users.view(), fx.cfg, {}, &wrong),
                  std::invalid_argument);
}
