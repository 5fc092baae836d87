// SPDX-License-Identifier: MIT
#include "vidrec/als/loop.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>

#include "vidrec/als/solver.hpp"
#include "vidrec/base/errors.hpp"

namespace vidrec {

namespace {

// Uniform [0, 0.01) like implicit's init; the top 24 bits of mt19937_64
// (fully specified by the standard) keep it identical across platforms.
arma::fmat random_factors(uint32_t factors, uint32_t n, std::mt19937_64& rng) {
  arma::fmat m(factors, n);
  for (float& v : m) v = float(rng() >> 40) * (0.01f / 16777216.0f);
  return m;
}

}  // namespace

AlsTrainResult train_als(const CsrView& user_items, const CsrView& item_users, const AlsConfig& cfg,
                         const AlsProgress& progress) {
  cfg.validate();
  if (item_users.rows != user_items.cols || item_users.cols != user_items.rows ||
      item_users.nnz() != user_items.nnz())
    throw std::invalid_argument("train_als: item_users is not the transpose of user_items");

  // Datasets of earlier versions could hold weights that overflowed float32.
  float max_weight = 0;
  for (uint64_t k = 0; k < user_items.nnz(); ++k) {
    const float w = user_items.values[k];
    if (!std::isfinite(w))
      throw InputError("the dataset holds a non-finite weight (entry " + std::to_string(k) +
                       "), as an earlier vidrec stored overflowing sums: run prepare again");
    max_weight = std::max(max_weight, w);
  }

  AlsTrainResult result;
  auto& [users, items] = result.factors;
  std::mt19937_64 rng(cfg.seed);
  users = random_factors(cfg.factors, user_items.rows, rng);
  items = random_factors(cfg.factors, user_items.cols, rng);

  for (uint32_t it = 1; it <= cfg.iterations; ++it) {
    const auto start = std::chrono::steady_clock::now();
    solve_half_sweep(user_items, items, users, cfg);
    solve_half_sweep(item_users, users, items, cfg);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.stats.iteration_seconds.push_back(seconds);

    if (!users.is_finite() || !items.is_finite()) {
      // Past ~1e15 a confidence swamps float32's 24-bit mantissa (the
      // regularisation vanishes beside it): say so rather than only blame lambda.
      const float c = cfg.confidence_of(max_weight);
      const std::string scale = c > 1e15f ? "; the largest weight (" + std::to_string(max_weight) +
                                                ") gives confidence " + std::to_string(c) +
                                                ", beyond what float32 resolves: scale the weights "
                                                "down or use --confidence log"
                                          : "";
      throw InputError("ALS diverged at iteration " + std::to_string(it) +
                       ": factors are not finite; try increasing --regularization "
                       "(or lowering --alpha)" + scale);
    }
    double loss = std::numeric_limits<double>::quiet_NaN();
    if (cfg.compute_loss) {
      loss = training_loss(user_items, users, items, cfg);
      result.stats.loss.push_back(loss);
    }
    if (progress) progress(it, seconds, loss);
  }
  return result;
}

}  // namespace vidrec
