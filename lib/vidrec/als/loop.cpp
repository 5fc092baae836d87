// SPDX-License-Identifier: MIT
#include "vidrec/als/loop.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "vidrec/als/solver.hpp"
#include "vidrec/base/errors.hpp"

namespace vidrec {

void init_factors(arma::fmat& m, uint64_t seed, uint64_t first) {
  // SplitMix64 of (seed, element index): any slice of the init is computed
  // on its own, so ranks that own slices build exactly the single process's.
  const uint64_t base = seed * 0x9E3779B97F4A7C15ull;
  uint64_t k = first;
  for (float& v : m) {
    uint64_t z = base + (++k) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    v = float(z >> 40) * (0.01f / 16777216.0f);
  }
}

void check_weights(const float* values, uint64_t count, uint64_t first_entry, float& max_weight) {
  for (uint64_t k = 0; k < count; ++k) {
    const float w = values[k];
    if (!std::isfinite(w))
      throw InputError("the dataset holds a non-finite weight (entry " + std::to_string(first_entry + k) +
                       "), as an earlier vidrec stored overflowing sums: run prepare again");
    max_weight = std::max(max_weight, w);
  }
}

std::string divergence_message(uint32_t iteration, float max_weight, const AlsConfig& cfg) {
  // Past ~1e15 a confidence swamps float32's 24-bit mantissa (the
  // regularisation vanishes beside it): say so rather than only blame lambda.
  const float c = cfg.confidence_of(max_weight);
  const std::string scale = c > 1e15f ? "; the largest weight (" + std::to_string(max_weight) +
                                            ") gives confidence " + std::to_string(c) +
                                            ", beyond what float32 resolves: scale the weights "
                                            "down or use --confidence log"
                                      : "";
  return "ALS diverged at iteration " + std::to_string(iteration) +
         ": factors are not finite; try increasing --regularization (or lowering --alpha)" + scale;
}

AlsTrainResult train_als(const CsrView& user_items, const CsrView& item_users, const AlsConfig& cfg,
                         const AlsProgress& progress, const AlsModelFactors* initial) {
  cfg.validate();
  if (item_users.rows != user_items.cols || item_users.cols != user_items.rows ||
      item_users.nnz() != user_items.nnz())
    throw std::invalid_argument("train_als: item_users is not the transpose of user_items");

  // Datasets of earlier versions could hold weights that overflowed float32.
  float max_weight = 0;
  check_weights(user_items.values, user_items.nnz(), 0, max_weight);

  AlsTrainResult result;
  auto& [users, items] = result.factors;
  users.set_size(cfg.factors, user_items.rows);
  items.set_size(cfg.factors, user_items.cols);
  if (initial) {
    if (initial->user_factors.n_rows != cfg.factors || initial->user_factors.n_cols != user_items.rows ||
        initial->item_factors.n_rows != cfg.factors || initial->item_factors.n_cols != user_items.cols)
      throw std::invalid_argument("train_als: the starting factors do not match the matrix and factor count");
    users = initial->user_factors;
    items = initial->item_factors;
  } else {
    init_factors(users, cfg.seed, 0);
    init_factors(items, cfg.seed, uint64_t(user_items.rows) * cfg.factors);
  }

  for (uint32_t it = 1; it <= cfg.iterations; ++it) {
    const auto start = std::chrono::steady_clock::now();
    solve_half_sweep(user_items, items, users, cfg);
    solve_half_sweep(item_users, users, items, cfg);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.stats.iteration_seconds.push_back(seconds);

    if (!users.is_finite() || !items.is_finite()) throw InputError(divergence_message(it, max_weight, cfg));
    double loss = std::numeric_limits<double>::quiet_NaN();
    if (cfg.compute_loss) {
      loss = training_loss(user_items, item_users, users, items, cfg);
      result.stats.loss.push_back(loss);
    }
    if (progress) progress(it, seconds, loss);
  }
  return result;
}

}  // namespace vidrec
