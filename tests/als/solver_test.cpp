// SPDX-License-Identifier: MIT
#include "vidrec/als/solver.hpp"

#include <armadillo>
#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <vector>

#include "als_fixtures.hpp"
#include "test_util.hpp"

using vidrec::AlsConfig;

namespace {

using vidrec::test::OwnedCsr;

// Each entry present with probability `density`, weight 1..5; with
// `nonpositive`, some present entries get weight 0 or -1 instead.
OwnedCsr random_csr(uint32_t rows, uint32_t cols, double density, uint64_t seed, bool nonpositive = false) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  OwnedCsr m;
  m.rows = rows;
  m.cols = cols;
  for (uint32_t r = 0; r < rows; ++r) {
    for (uint32_t c = 0; c < cols; ++c) {
      if (u01(rng) >= density) continue;
      float w = float(1 + rng() % 5);
      if (nonpositive && u01(rng) < 0.2) w = (rng() % 2) ? 0.0f : -1.0f;
      m.indices.push_back(c);
      m.values.push_back(w);
    }
    m.indptr.push_back(m.indices.size());
  }
  return m;
}

arma::fmat random_factors(uint32_t f, uint32_t n, uint64_t seed) {
  arma::arma_rng::set_seed(seed);
  return arma::fmat(f, n, arma::fill::randn) * 0.5f;
}

// x_u from the dense normal equations (Y C_u Y^T + lambda I) x = Y C_u p_u,
// with C_u over every column (1 where unobserved), solved in double.
arma::fmat dense_reference(const OwnedCsr& m, const arma::fmat& Y, const AlsConfig& cfg) {
  const arma::mat Yd = arma::conv_to<arma::mat>::from(Y);
  arma::fmat X(Y.n_rows, m.rows);
  for (uint32_t u = 0; u < m.rows; ++u) {
    arma::vec c(m.cols, arma::fill::ones), p(m.cols, arma::fill::zeros);
    for (uint64_t e = m.indptr[u]; e < m.indptr[u + 1]; ++e)
      if (m.values[e] > 0) {
        c(m.indices[e]) = cfg.confidence_of(m.values[e]);
        p(m.indices[e]) = 1.0;
      }
    const arma::mat A = Yd * arma::diagmat(c) * Yd.t() + cfg.regularization * arma::eye(Y.n_rows, Y.n_rows);
    X.col(u) = arma::conv_to<arma::fvec>::from(arma::solve(A, Yd * (c % p)));
  }
  return X;
}

double rel_error(const arma::fmat& a, const arma::fmat& b) {
  return arma::norm(arma::conv_to<arma::mat>::from(a - b), "fro") /
         arma::norm(arma::conv_to<arma::mat>::from(b), "fro");
}

bool bits_equal(const arma::fmat& a, const arma::fmat& b) {
  return a.n_rows == b.n_rows && a.n_cols == b.n_cols &&
         std::memcmp(a.memptr(), b.memptr(), a.n_elem * sizeof(float)) == 0;
}

AlsConfig small_config(uint32_t f, AlsConfig::Solver solver) {
  AlsConfig cfg;
  cfg.factors = f;
  cfg.regularization = 0.1f;
  cfg.alpha = 2.0f;
  cfg.solver = solver;
  cfg.threads = 2;
  return cfg;
}

}  // namespace

TEST_CASE("hand-checked 1 user x 3 videos, 2 factors", "[als]") {
  // y0 = (1,0), y1 = (0,1), y2 = (1,1); the user has w0 = 1, w2 = 3, no w1;
  // alpha = 1, lambda = 1 -> c = (2, 1, 4), p = (1, 0, 1).
  //   Y C Y^T = 2 y0y0' + y1y1' + 4 y2y2' = [6 4; 4 5],  + lambda I = [7 4; 4 6]
  //   Y C p   = 2 y0 + 4 y2 = (6, 4)
  //   x = [7 4; 4 6]^-1 (6, 4) = (1/26) [6 -4; -4 7] (6, 4) = (10/13, 2/13)
  OwnedCsr m;
  m.rows = 1;
  m.cols = 3;
  m.indptr = {0, 2};
  m.indices = {0, 2};
  m.values = {1.0f, 3.0f};
  const arma::fmat Y = {{1, 0, 1}, {0, 1, 1}};
  AlsConfig cfg;
  cfg.factors = 2;
  cfg.regularization = 1.0f;
  cfg.alpha = 1.0f;
  const arma::fmat G = vidrec::gram(Y, cfg.regularization, 1);
  CHECK(arma::approx_equal(G, arma::fmat{{3, 1}, {1, 3}}, "absdiff", 1e-6f));

  for (auto solver : {AlsConfig::Solver::Cholesky, AlsConfig::Solver::CG}) {
    cfg.solver = solver;
    cfg.cg_steps = 2;  // CG is exact after f = 2 steps
    arma::fmat X(2, 1, arma::fill::zeros);
    vidrec::RowScratch scratch(2, 2);
    vidrec::solve_rows(m.view(), Y, G, cfg, X, 0, 1, scratch);
    CHECK(X(0, 0) == Approx(10.0 / 13.0).epsilon(1e-5));
    CHECK(X(1, 0) == Approx(2.0 / 13.0).epsilon(1e-5));
  }
}

TEST_CASE("confidence functions", "[als]") {
  AlsConfig cfg;
  cfg.alpha = 2.0f;
  CHECK(cfg.confidence_of(3.0f) == Approx(7.0));  // 1 + 2 * 3
  cfg.confidence = AlsConfig::Confidence::Log;
  cfg.epsilon = 0.5f;
  CHECK(cfg.confidence_of(3.0f) == Approx(1.0 + 2.0 * std::log(7.0)));  // 1 + 2 log(1 + 3/0.5)
}

TEST_CASE("Cholesky solver equals the dense reference", "[als]") {
  for (auto conf : {AlsConfig::Confidence::Linear, AlsConfig::Confidence::Log})
    for (uint32_t f : {1u, 7u, 16u, 33u, 70u}) {
      const OwnedCsr m = random_csr(40, 60, 0.15, f, true);
      AlsConfig cfg = small_config(f, AlsConfig::Solver::Cholesky);
      cfg.confidence = conf;
      const arma::fmat Y = random_factors(f, m.cols, 7 + f);
      arma::fmat X(f, m.rows, arma::fill::ones);
      vidrec::solve_half_sweep(m.view(), Y, X, cfg);
      INFO("factors " << f);
      CHECK(rel_error(X, dense_reference(m, Y, cfg)) < 1e-4);
    }
}

TEST_CASE("CG approaches the exact solution as cg_steps grows", "[als]") {
  const uint32_t f = 24;
  const OwnedCsr m = random_csr(30, 80, 0.2, 3);
  AlsConfig cfg = small_config(f, AlsConfig::Solver::CG);
  const arma::fmat Y = random_factors(f, m.cols, 11);
  const arma::fmat exact = dense_reference(m, Y, cfg);
  const arma::fmat start = random_factors(f, m.rows, 12) * 0.01f;
  std::vector<double> errors;
  for (uint32_t steps : {1u, 3u, 8u, 64u}) {
    cfg.cg_steps = steps;
    arma::fmat X = start;
    vidrec::solve_half_sweep(m.view(), Y, X, cfg);
    errors.push_back(rel_error(X, exact));
  }
  INFO("errors " << errors[0] << " " << errors[1] << " " << errors[2] << " " << errors[3]);
  CHECK(errors[0] > errors[1]);
  CHECK(errors[1] > errors[2]);
  CHECK(errors[3] < 1e-4);
}

TEST_CASE("non-positive weights count as unobserved; empty rows get zero", "[als]") {
  const uint32_t f = 8;
  const OwnedCsr noisy = random_csr(25, 30, 0.3, 5, true);
  OwnedCsr clean;  // the same matrix without its w <= 0 entries
  clean.rows = noisy.rows;
  clean.cols = noisy.cols;
  for (uint32_t r = 0; r < noisy.rows; ++r) {
    for (uint64_t e = noisy.indptr[r]; e < noisy.indptr[r + 1]; ++e)
      if (noisy.values[e] > 0) {
        clean.indices.push_back(noisy.indices[e]);
        clean.values.push_back(noisy.values[e]);
      }
    clean.indptr.push_back(clean.indices.size());
  }
  REQUIRE(clean.indices.size() < noisy.indices.size());
  const arma::fmat Y = random_factors(f, noisy.cols, 2);
  for (auto solver : {AlsConfig::Solver::CG, AlsConfig::Solver::Cholesky}) {
    const AlsConfig cfg = small_config(f, solver);
    arma::fmat a(f, noisy.rows, arma::fill::ones), b = a;
    vidrec::solve_half_sweep(noisy.view(), Y, a, cfg);
    vidrec::solve_half_sweep(clean.view(), Y, b, cfg);
    CHECK(bits_equal(a, b));
  }

  OwnedCsr empty_rows;  // row 0 empty, row 1 only a zero weight
  empty_rows.rows = 2;
  empty_rows.cols = 3;
  empty_rows.indptr = {0, 0, 1};
  empty_rows.indices = {1};
  empty_rows.values = {0.0f};
  arma::fmat X(f, 2, arma::fill::ones);
  vidrec::solve_half_sweep(empty_rows.view(), random_factors(f, 3, 1), X,
                           small_config(f, AlsConfig::Solver::CG));
  CHECK(arma::all(arma::vectorise(X) == 0.0f));
}

TEST_CASE("gram and half-sweeps do not depend on the thread count", "[als]") {
  for (uint32_t f : {8u, 70u}) {                       // 70: vector tiles plus scalar tails
    const arma::fmat Y = random_factors(f, 20000, 4);  // several gram blocks
    const arma::fmat G1 = vidrec::gram(Y, 0.5f, 1);
    CHECK(bits_equal(G1, vidrec::gram(Y, 0.5f, 3)));
    const arma::mat Yd = arma::conv_to<arma::mat>::from(Y);
    const arma::mat expected = Yd * Yd.t() + 0.5 * arma::eye(f, f);
    CHECK(arma::abs(arma::conv_to<arma::mat>::from(G1) - expected).max() < 1e-5 * expected.max());
  }

  const uint32_t f = 16;
  const OwnedCsr m = random_csr(500, 200, 0.05, 9);
  const arma::fmat items = random_factors(f, m.cols, 10);
  for (auto solver : {AlsConfig::Solver::CG, AlsConfig::Solver::Cholesky}) {
    AlsConfig cfg = small_config(f, solver);
    arma::fmat a(f, m.rows, arma::fill::randu), b = a;
    cfg.threads = 1;
    vidrec::solve_half_sweep(m.view(), items, a, cfg);
    cfg.threads = 3;
    vidrec::solve_half_sweep(m.view(), items, b, cfg);
    CHECK(bits_equal(a, b));
  }
}

TEST_CASE("training_loss equals the brute-force weighted loss", "[als]") {
  const uint32_t f = 5;
  const OwnedCsr m = random_csr(20, 15, 0.3, 21, true);
  AlsConfig cfg = small_config(f, AlsConfig::Solver::CG);
  cfg.confidence = AlsConfig::Confidence::Log;
  const arma::fmat X = random_factors(f, m.rows, 22), Y = random_factors(f, m.cols, 23);
  double loss = 0.0, weight = 0.0;
  for (uint32_t u = 0; u < m.rows; ++u)
    for (uint32_t i = 0; i < m.cols; ++i) {
      double c = 1.0, p = 0.0;
      for (uint64_t e = m.indptr[u]; e < m.indptr[u + 1]; ++e)
        if (m.indices[e] == i && m.values[e] > 0) {
          c = cfg.confidence_of(m.values[e]);
          p = 1.0;
        }
      const double d =
          p - arma::dot(arma::conv_to<arma::vec>::from(X.col(u)), arma::conv_to<arma::vec>::from(Y.col(i)));
      loss += c * d * d;
      weight += c;
    }
  loss += cfg.regularization * (arma::accu(arma::square(arma::conv_to<arma::mat>::from(X))) +
                                arma::accu(arma::square(arma::conv_to<arma::mat>::from(Y))));
  CHECK(vidrec::training_loss(m.view(), vidrec::test::transpose(m).view(), X, Y, cfg) ==
        Approx(loss / weight).epsilon(1e-5));
}

TEST_CASE("mismatched factor shapes are rejected", "[als]") {
  const OwnedCsr m = random_csr(4, 5, 0.5, 1);
  const AlsConfig cfg = small_config(3, AlsConfig::Solver::CG);
  arma::fmat X(3, 4, arma::fill::zeros);
  CHECK_THROWS_AS(vidrec::solve_half_sweep(m.view(), arma::fmat(3, 6), X, cfg), std::invalid_argument);
  CHECK_THROWS_AS(vidrec::solve_half_sweep(m.view(), arma::fmat(2, 5), X, cfg), std::invalid_argument);
}

TEST_CASE("hand-checked alpha0, frequency-scaled lambda and a negative pair", "[als]") {
  // As above (y0 = (1,0), y1 = (0,1), y2 = (1,1); w0 = 1, w2 = 3; alpha = 1),
  // now alpha0 = 0.5, lambda = 0.1, exponent 1: lambda_u = 0.1 (2 + 0.5 * 3) = 0.35.
  //   c = (2, 0.5, 4): Y C Y^T = [6 4; 4 4.5], + 0.35 I = [6.35 4; 4 4.85]
  //   b = 2 y0 + 4 y2 = (6, 4);  det = 14.7975
  //   x = ((4.85 * 6 - 4 * 4), (-4 * 6 + 6.35 * 4)) / det = (13.1, 1.4) / 14.7975
  // A dislike w1 = -2 with negative weight 0.5: c1 = 0.5 + 0.5 (c(2) - 1) = 1.5,
  // p1 = 0 (lambda_u unchanged: still 2 positives):
  //   A = [6.35 4; 4 5.85], det = 21.1475, x = (19.1, 1.4) / 21.1475
  // so the disliked video's score x.y1 drops from 0.0946 to 0.0662.
  const arma::fmat Y = {{1, 0, 1}, {0, 1, 1}};
  AlsConfig cfg;
  cfg.factors = 2;
  cfg.regularization = 0.1f;
  cfg.alpha = 1.0f;
  cfg.unobserved_weight = 0.5f;
  cfg.reg_exponent = 1.0f;
  cfg.negative_weight = 0.5f;
  arma::fmat G = vidrec::gram(Y, 0.0f, 1);
  vidrec::finish_system_gram(G, cfg);
  CHECK(arma::approx_equal(G, arma::fmat{{1, 0.5}, {0.5, 1}}, "absdiff", 1e-6f));  // no ridge: per row
  struct Case {
    std::vector<uint32_t> cols;
    std::vector<float> w;
    double x0, x1;
  };
  for (const Case& c : {Case{{0, 2}, {1.0f, 3.0f}, 13.1 / 14.7975, 1.4 / 14.7975},
                        Case{{0, 1, 2}, {1.0f, -2.0f, 3.0f}, 19.1 / 21.1475, 1.4 / 21.1475}}) {
    OwnedCsr m;
    m.rows = 1;
    m.cols = 3;
    m.indptr = {0, c.cols.size()};
    m.indices = c.cols;
    m.values = c.w;
    for (auto solver : {AlsConfig::Solver::Cholesky, AlsConfig::Solver::CG}) {
      cfg.solver = solver;
      cfg.cg_steps = 2;
      arma::fmat X(2, 1, arma::fill::zeros);
      vidrec::RowScratch scratch(2, 3);
      vidrec::solve_rows(m.view(), Y, G, cfg, X, 0, 1, scratch);
      CHECK(X(0, 0) == Approx(c.x0).epsilon(1e-5));
      CHECK(X(1, 0) == Approx(c.x1).epsilon(1e-5));
    }
  }
}

namespace {
// The dense problem of config.hpp for every row: c_ui = alpha0 where
// unobserved, p and c of positive and negative pairs, lambda_u per row.
arma::fmat dense_reference_options(const OwnedCsr& m, const arma::fmat& Y, const AlsConfig& cfg) {
  const arma::mat Yd = arma::conv_to<arma::mat>::from(Y);
  arma::fmat X(Y.n_rows, m.rows);
  for (uint32_t u = 0; u < m.rows; ++u) {
    arma::vec c(m.cols), p(m.cols, arma::fill::zeros);
    c.fill(cfg.unobserved_weight);
    double positives = 0;
    for (uint64_t e = m.indptr[u]; e < m.indptr[u + 1]; ++e) {
      const double w = m.values[e];
      if (w > 0) {
        c(m.indices[e]) = cfg.confidence_of(w);
        p(m.indices[e]) = 1.0;
        ++positives;
      } else if (w < 0) {
        c(m.indices[e]) = cfg.unobserved_weight + cfg.negative_weight * (cfg.confidence_of(-w) - 1.0);
      }
    }
    const double lambda = cfg.regularization * std::pow(positives + double(cfg.unobserved_weight) * m.cols,
                                                        double(cfg.reg_exponent));
    const arma::mat A = Yd * arma::diagmat(c) * Yd.t() + lambda * arma::eye(Y.n_rows, Y.n_rows);
    X.col(u) = positives > 0 ? arma::conv_to<arma::fvec>::from(arma::solve(A, Yd * (c % p)))
                             : arma::fvec(Y.n_rows, arma::fill::zeros);
  }
  return X;
}
}  // namespace

TEST_CASE("alpha0, lambda_u and negative pairs match the dense solve", "[als]") {
  const uint32_t f = 6;
  const OwnedCsr m = random_csr(40, 30, 0.25, 31, true);
  const arma::fmat Y = random_factors(f, m.cols, 32);
  for (float a0 : {0.05f, 1.0f, 3.0f})
    for (float nu : {0.0f, 0.5f, 1.0f})
      for (float neg : {0.0f, 0.7f}) {
        AlsConfig cfg = small_config(f, AlsConfig::Solver::Cholesky);
        cfg.regularization = nu > 0 ? 0.01f : 0.1f;
        cfg.unobserved_weight = a0;
        cfg.reg_exponent = nu;
        cfg.negative_weight = neg;
        INFO("alpha0 " << a0 << " exponent " << nu << " negative weight " << neg);
        const arma::fmat want = dense_reference_options(m, Y, cfg);
        arma::fmat X(f, m.rows, arma::fill::zeros);
        vidrec::solve_half_sweep(m.view(), Y, X, cfg);
        CHECK(rel_error(X, want) < 1e-4);
        cfg.solver = AlsConfig::Solver::CG;
        cfg.cg_steps = 3 * f;  // run to convergence
        X.zeros();
        vidrec::solve_half_sweep(m.view(), Y, X, cfg);
        CHECK(rel_error(X, want) < 1e-3);
      }
}

TEST_CASE("the default options give exactly the classic system", "[als]") {
  const OwnedCsr m = random_csr(30, 20, 0.3, 41);
  const arma::fmat Y = random_factors(8, m.cols, 42);
  const AlsConfig cfg = small_config(8, AlsConfig::Solver::CG);
  arma::fmat G = vidrec::gram(Y, 0.0f, 2);
  vidrec::finish_system_gram(G, cfg);
  CHECK(bits_equal(G, vidrec::gram(Y, cfg.regularization, 2)));
}

TEST_CASE("training_loss with alpha0, lambda_u and negatives equals the brute-force loss", "[als]") {
  const uint32_t f = 4;
  const OwnedCsr m = random_csr(15, 12, 0.35, 51, true);
  AlsConfig cfg = small_config(f, AlsConfig::Solver::CG);
  cfg.unobserved_weight = 0.3f;
  cfg.reg_exponent = 0.5f;
  cfg.negative_weight = 2.0f;
  const arma::fmat X = random_factors(f, m.rows, 52), Y = random_factors(f, m.cols, 53);
  const OwnedCsr t = vidrec::test::transpose(m);
  auto positives = [](const OwnedCsr& a, uint32_t r) {
    double n = 0;
    for (uint64_t e = a.indptr[r]; e < a.indptr[r + 1]; ++e) n += a.values[e] > 0;
    return n;
  };
  double loss = 0.0, weight = 0.0;
  for (uint32_t u = 0; u < m.rows; ++u)
    for (uint32_t i = 0; i < m.cols; ++i) {
      double c = cfg.unobserved_weight, p = 0.0;
      for (uint64_t e = m.indptr[u]; e < m.indptr[u + 1]; ++e)
        if (m.indices[e] == i && m.values[e] > 0) {
          c = cfg.confidence_of(m.values[e]);
          p = 1.0;
        } else if (m.indices[e] == i && m.values[e] < 0) {
          c = cfg.unobserved_weight + cfg.negative_weight * (cfg.confidence_of(-m.values[e]) - 1.0);
        }
      const double d =
          p - arma::dot(arma::conv_to<arma::vec>::from(X.col(u)), arma::conv_to<arma::vec>::from(Y.col(i)));
      loss += c * d * d;
      weight += c;
    }
  auto lambda = [&](double n_r, double n) { return 0.1 * std::pow(n_r + 0.3 * n, 0.5); };
  for (uint32_t u = 0; u < m.rows; ++u)
    loss +=
        lambda(positives(m, u), m.cols) * arma::accu(arma::square(arma::conv_to<arma::vec>::from(X.col(u))));
  for (uint32_t i = 0; i < m.cols; ++i)
    loss +=
        lambda(positives(t, i), m.rows) * arma::accu(arma::square(arma::conv_to<arma::vec>::from(Y.col(i))));
  CHECK(vidrec::training_loss(m.view(), t.view(), X, Y, cfg) == Approx(loss / weight).epsilon(1e-5));
}
