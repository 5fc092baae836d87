// SPDX-License-Identifier: MIT
// One user's ALS system from a model: the user step of training (als/
// solver.hpp) rebuilt in double for a history, which serve's fold-in,
// `recommend --history` and the explanations (explain.hpp) all solve.
//
// Contract
// - FoldIn::of reads the model's hyperparameters and weighting statistics
//   (FormatError when they are unusable) and forms alpha0 Y Y^T (+ lambda I
//   when lambda is the same for every user) once.
// - user_system: A = G + lambda_u I + sum_j (c_j - alpha0) y_j y_j^T and
//   b = sum_j c_j p_j y_j for weights as training saw them (already
//   weighted): positive w_j -> p = 1, c = confidence(w); negative w_j with
//   negative_weight > 0 -> p = 0, c = alpha0 + negative_weight (conf(|w|) -
//   1); zero (and negative without negative_weight) -> an unobserved pair,
//   left out. lambda_u counts the positive pairs (reg_exponent).
// - weigh_history: a fold-in history's raw values weighted by the model's
//   BM25/TF-IDF from its own length (never decayed: it is happening now).
// - history_row: (video, value) pairs -> videos ascending, repeats summed.
#pragma once
#include <armadillo>
#include <cstdint>
#include <utility>
#include <vector>

#include "vidrec/als/config.hpp"
#include "vidrec/als/weighting.hpp"
#include "vidrec/model/model.hpp"

namespace vidrec {

struct FoldIn {
  static FoldIn of(const Model& m);
  AlsConfig als;
  Weighting weighting;
  WeightingStats stats;
  arma::mat gram;  // alpha0 Y Y^T (+ lambda I), double
};

struct UserSystem {
  arma::mat A;
  arma::vec b;
  std::vector<uint32_t> videos;  // the pairs in the system (non-zero confidence term)
  std::vector<double> target;    // their c_j p_j (0 for negative pairs)
  uint32_t positives = 0;        // 0: the user has no profile (x = 0)
};

UserSystem user_system(const Model& m, const FoldIn& fi, const uint32_t* videos, const double* weights,
                       size_t n);
std::vector<double> weigh_history(const Model& m, const FoldIn& fi, const std::vector<uint32_t>& videos,
                                  const std::vector<double>& weights);
// x = A^-1 b; std::runtime_error when A is singular.
arma::vec solve_user(const UserSystem& s);
void history_row(std::vector<std::pair<uint32_t, double>> pairs, std::vector<uint32_t>& videos,
                 std::vector<double>& weights);

}  // namespace vidrec
