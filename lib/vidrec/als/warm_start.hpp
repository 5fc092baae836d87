// SPDX-License-Identifier: MIT
// `train --init-from`: a previous model's factors as the starting point of
// training on a newer dataset (nightly retraining in a few iterations).
//
// Contract
// - Users and videos of the dataset that the previous model knows (matched
//   by id) start from its factors; the others from the seeded initial values
//   train_als would give them (init_factors, the same element positions), so
//   a dataset equal to the previous model's continues its training exactly
//   (train_als's `initial`).
// - The previous model must have the same factor count and, when it records
//   its hyperparameters, the same confidence settings (confidence, alpha,
//   epsilon, alpha0, negative weight, weighting scheme): ConfigError naming
//   both values otherwise (its factors solve another objective).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>

#include "vidrec/als/loop.hpp"
#include "vidrec/als/weighting.hpp"
#include "vidrec/dataset/dataset.hpp"
#include "vidrec/model/model.hpp"

namespace vidrec {

struct WarmStart {
  AlsModelFactors factors;
  uint32_t users_kept = 0, videos_kept = 0;             // matched by id; the rest start fresh
  nlohmann::json to_json(const Model& previous) const;  // the model metadata's "warm_start"
};

WarmStart warm_start(const Dataset& ds, const Model& previous, const AlsConfig& cfg, const Weighting& w);

}  // namespace vidrec
