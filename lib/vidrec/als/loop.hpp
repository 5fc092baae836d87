// SPDX-License-Identifier: MIT
// Implicit-feedback ALS training (Hu, Koren & Volinsky 2008).
//
// Contract: user_items is the users x videos weight matrix and item_users its
// exact transpose (both CSR, as the dataset file stores them). Factors start
// uniform in [0, 0.01) from cfg.seed (init_factors: users first, then
// videos, element by element) and each
// iteration solves all users, then all videos (see solver.hpp). The
// result is a deterministic function of the inputs, the config and the CPU's
// instruction set: it does not depend on the thread count.
// cfg is validated first (ConfigError). Non-finite factors after an iteration
// raise InputError with a hint to increase the regularization.
#pragma once
#include <armadillo>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "vidrec/als/config.hpp"
#include "vidrec/dataset/sparse.hpp"

namespace vidrec {

struct AlsModelFactors {
  arma::fmat user_factors;  // factors x users, one column per user
  arma::fmat item_factors;  // factors x videos, one column per video
};

struct TrainStats {
  std::vector<double> iteration_seconds;  // solver time only, loss excluded
  std::vector<double> loss;               // per iteration; empty unless compute_loss
};

struct AlsTrainResult {
  AlsModelFactors factors;
  TrainStats stats;
};

// Called after each iteration (1-based) with its seconds and the training
// loss (NaN unless cfg.compute_loss).
using AlsProgress = std::function<void(uint32_t iteration, double seconds, double loss)>;

// Pieces train_als shares with the distributed loop (distributed.hpp):
// Fills m (f x n) with the initial values of elements first .. first + f*n - 1
// of the seed's stream (element index = column * f + row, users then videos).
void init_factors(arma::fmat& m, uint64_t seed, uint64_t first);
// InputError naming the entry when a weight is not finite; else raises max_weight.
void check_weights(const float* values, uint64_t count, uint64_t first_entry, float& max_weight);
std::string divergence_message(uint32_t iteration, float max_weight, const AlsConfig& cfg);

// `initial`, when given, replaces the seeded initial factors (shapes must
// match, std::invalid_argument otherwise): continuing a model trained for i
// iterations for j more gives exactly the model trained for i + j (tune's
// successive halving, warm starts).
AlsTrainResult train_als(const CsrView& user_items, const CsrView& item_users, const AlsConfig& cfg,
                         const AlsProgress& progress = {}, const AlsModelFactors* initial = nullptr);

}  // namespace vidrec
