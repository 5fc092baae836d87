// SPDX-License-Identifier: MIT
// The distributed loop against the single-process one (its reference): ranks
// run as threads (thread_comm.hpp), so any N is tried here.
#include "vidrec/als/distributed.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

#include "als/als_fixtures.hpp"
#include "als/thread_comm.hpp"
#include "vidrec/als/solver.hpp"
#include "vidrec/base/errors.hpp"

using vidrec::AlsConfig;
using vidrec::test::bits_equal;
using vidrec::test::clustered_csr;
using vidrec::test::OwnedCsr;
using vidrec::test::ThreadGroup;
using vidrec::test::transpose;

namespace {

// Trains on `ranks` threads; rank 0 collects the users' factors in chunks
// of `chunk` as the model writer would.
vidrec::AlsTrainResult train_on(int ranks, const OwnedCsr& ui, const OwnedCsr& iu, const AlsConfig& cfg,
                                std::vector<uint32_t>* progress_ranks = nullptr, uint32_t chunk = 1000) {
  vidrec::AlsTrainResult on_rank0;
  std::mutex m;
  ThreadGroup(ranks).run([&](vidrec::Comm& comm) {
    auto r = vidrec::train_als_distributed(comm, ui.view(), iu.view(), cfg, [&](uint32_t, double, double) {
      std::lock_guard<std::mutex> lock(m);
      if (progress_ranks) progress_ranks->push_back(uint32_t(comm.rank()));
    });
    if (comm.rank() != 0) {
      CHECK(r.item_factors.n_elem == 0);
      vidrec::send_user_factors(comm, r, chunk);
      return;
    }
    on_rank0.stats = r.stats;
    on_rank0.factors.item_factors = r.item_factors;
    arma::fmat& users = on_rank0.factors.user_factors;
    users.set_size(cfg.factors, ui.rows);
    vidrec::UserFactorSource source(comm, r, chunk);
    for (uint32_t first = 0; first < ui.rows; first += chunk)
      source.fill(first, std::min(chunk, ui.rows - first), users.colptr(first));
  });
  return on_rank0;
}

}  // namespace

TEST_CASE("balance_rows cuts on granules, in order, near equal shares of the entries", "[distributed]") {
  const OwnedCsr m = clustered_csr(1000, 50, 3, 4);
  for (int parts : {1, 2, 3, 7, 40}) {
    const auto cuts = vidrec::balance_rows(m.view(), parts, 64);
    REQUIRE(cuts.size() == size_t(parts) + 1);
    CHECK(cuts.front() == 0);
    CHECK(cuts.back() == 1000);
    uint64_t most_in_granule = 0;
    for (uint32_t g = 0; g < 1000; g += 64)
      most_in_granule = std::max(most_in_granule, m.indptr[std::min(g + 64, 1000u)] - m.indptr[g]);
    for (int k = 1; k < parts; ++k) {
      INFO(parts << " parts, cut " << k);
      CHECK(cuts[size_t(k)] >= cuts[size_t(k) - 1]);
      CHECK(cuts[size_t(k)] % 64 == 0);
      const double target = double(m.indptr[1000]) * k / parts;
      CHECK(std::abs(double(m.indptr[cuts[size_t(k)]]) - target) <= double(most_in_granule));
    }
  }
  // More parts than granules: some ranks own nothing, the cuts stay in order.
  const auto many = vidrec::balance_rows(clustered_csr(100, 20, 2, 1).view(), 5, 64);
  CHECK(std::is_sorted(many.begin(), many.end()));
  CHECK(many.front() == 0);
  CHECK(many.back() == 100);
  for (const uint32_t c : many) CHECK((c == 100 || c % 64 == 0));
}

TEST_CASE("gram_block depends on the column count only", "[distributed]") {
  CHECK(vidrec::gram_block(0) == 64);
  CHECK(vidrec::gram_block(16384) == 64);
  CHECK(vidrec::gram_block(16385) == 128);
  CHECK(vidrec::gram_block(100000) == 512);
  CHECK(vidrec::gram_block(uint64_t(1) << 32) == 8192);
  // The blocked sum is the Gram matrix (an independent product as reference).
  arma::arma_rng::set_seed(3);
  const arma::fmat Y(9, 1000, arma::fill::randu);
  const arma::fmat G = vidrec::gram(Y, 0.5f, 2);
  const arma::mat ref =
      arma::conv_to<arma::mat>::from(Y) * arma::conv_to<arma::mat>::from(Y).t() + 0.5 * arma::eye(9, 9);
  CHECK(arma::abs(arma::conv_to<arma::mat>::from(G) - ref).max() < 1e-3);
}

TEST_CASE("N ranks give the single process's factors and loss, bit for bit", "[distributed]") {
  // Rows and columns over several Gram blocks; factors not a multiple of the
  // SIMD width; a solver and confidence of each kind.
  const OwnedCsr ui = clustered_csr(700, 230, 5, 8);
  const OwnedCsr iu = transpose(ui);
  AlsConfig cfg;
  cfg.factors = 11;
  cfg.iterations = 3;
  cfg.regularization = 0.05f;
  cfg.alpha = 4.0f;
  cfg.threads = 1;
  cfg.compute_loss = true;
  for (auto solver : {AlsConfig::Solver::CG, AlsConfig::Solver::Cholesky}) {
    cfg.solver = solver;
    cfg.confidence =
        solver == AlsConfig::Solver::CG ? AlsConfig::Confidence::Linear : AlsConfig::Confidence::Log;
    const auto one = vidrec::train_als(ui.view(), iu.view(), cfg);
    for (int ranks : {1, 2, 3, 5, 16}) {  // 16: more ranks than blocks
      INFO(ranks << " ranks, solver " << int(solver));
      std::vector<uint32_t> progress;
      const auto many =
          train_on(ranks, ui, iu, cfg, &progress, ranks == 3 ? 7 : 1000);  // 7: chunks cut ranges
      CHECK(bits_equal(many.factors.user_factors, one.factors.user_factors));
      CHECK(bits_equal(many.factors.item_factors, one.factors.item_factors));
      CHECK(many.stats.loss == one.stats.loss);
      CHECK(progress == std::vector<uint32_t>(3, 0));  // rank 0 reports, once per iteration
    }
  }
}

TEST_CASE("a failure on one rank is raised on every rank, reported by rank 0", "[distributed]") {
  for (int failing : {0, 2}) {
    std::vector<std::string> seen(3);
    ThreadGroup(3).run([&](vidrec::Comm& comm) {
      try {
        vidrec::run_collectively(comm, [&] {
          if (comm.rank() == failing) throw vidrec::ConfigError("bad value");
        });
        seen[size_t(comm.rank())] = "returned";
      } catch (const vidrec::ReportedElsewhere& e) {
        seen[size_t(comm.rank())] = "elsewhere " + std::to_string(e.exit_code);
      } catch (const vidrec::ConfigError& e) {
        seen[size_t(comm.rank())] = std::string("config: ") + e.what();
      }
    });
    const std::string msg = failing == 0 ? "config: bad value" : "config: rank 2: bad value";
    CHECK(seen == std::vector<std::string>{msg, "elsewhere 2", "elsewhere 2"});
  }
  // A non-finite weight in the rows of the last rank only.
  OwnedCsr ui = clustered_csr(300, 40, 2, 5);
  ui.values.back() = std::numeric_limits<float>::infinity();
  const OwnedCsr iu = transpose(ui);
  AlsConfig cfg;
  cfg.factors = 4;
  cfg.threads = 1;
  std::vector<int> outcome(3, -1);
  ThreadGroup(3).run([&](vidrec::Comm& comm) {
    try {
      vidrec::train_als_distributed(comm, ui.view(), iu.view(), cfg);
    } catch (const vidrec::ReportedElsewhere& e) {
      outcome[size_t(comm.rank())] = e.exit_code;
    } catch (const vidrec::InputError& e) {
      CHECK(std::string(e.what()).find("non-finite weight") != std::string::npos);
      outcome[size_t(comm.rank())] = 100;
    }
  });
  CHECK(outcome == std::vector<int>{100, 1, 1});
}

TEST_CASE("rank 0 can stop reading the users' factors part way: the rest is drained", "[distributed]") {
  const OwnedCsr ui = clustered_csr(300, 60, 3, 2);
  const OwnedCsr iu = transpose(ui);
  AlsConfig cfg;
  cfg.factors = 5;
  cfg.iterations = 1;
  cfg.threads = 1;
  const auto one = vidrec::train_als(ui.view(), iu.view(), cfg);
  ThreadGroup(3).run([&](vidrec::Comm& comm) {
    const auto r = vidrec::train_als_distributed(comm, ui.view(), iu.view(), cfg);
    if (comm.rank() != 0) return vidrec::send_user_factors(comm, r, 64);
    vidrec::UserFactorSource source(comm, r, 64);
    arma::fmat first(5, 64);
    source.fill(0, 64, first.memptr());
    CHECK(bits_equal(first, one.factors.user_factors.cols(0, 63)));
    CHECK_THROWS_AS(source.fill(128, 64, first.memptr()), std::logic_error);  // out of order
    source.drain();
  });
}
