// SPDX-License-Identifier: MIT
// Hyper-parameters of implicit-feedback ALS (Hu, Koren & Volinsky 2008).
//
// Contract: every stored weight w > 0 of the user x video matrix becomes a
// preference p = 1 with confidence
//   Linear: c = 1 + alpha * w
//   Log:    c = 1 + alpha * log(1 + w / epsilon)
// Unobserved pairs have p = 0 and confidence alpha0 (unobserved_weight; 1 in
// Hu, Koren & Volinsky). A stored w < 0 (negative feedback: dislike, skip) is
// a pair with p = 0 and confidence alpha0 + negative_weight * (conf(|w|) - 1):
// with negative_weight 0 (the default) it is exactly an unobserved pair, as
// is w = 0. Each row r (a user, or a video on the other half-sweep) is
// regularised by
//   lambda_r = regularization * (n_r + alpha0 * n)^reg_exponent
// where n_r counts the row's positive entries and n the other side's rows
// (Rendle et al. 2022, "Revisiting the Performance of iALS"; exponent 0 is
// the classic fixed lambda). validate() throws ConfigError naming the rule.
#pragma once
#include <cmath>
#include <cstdint>

namespace vidrec {

struct AlsConfig {
  enum class Confidence { Linear, Log };
  enum class Solver { CG, Cholesky };

  uint32_t factors = 64;
  uint32_t iterations = 15;
  float regularization = 0.01f;
  float alpha = 1.0f;
  Confidence confidence = Confidence::Linear;
  float epsilon = 1.0f;
  Solver solver = Solver::CG;
  uint32_t cg_steps = 3;
  unsigned threads = 0;  // 0 = all cores
  uint64_t seed = 42;
  bool compute_loss = false;
  float unobserved_weight = 1.0f;  // alpha0
  float reg_exponent = 0.0f;       // nu
  float negative_weight = 0.0f;

  // lambda_r for a row with n_r positive entries of n columns.
  double row_regularization(uint64_t n_r, uint64_t n) const {
    return reg_exponent == 0.0f
               ? double(regularization)
               : double(regularization) *
                     std::pow(double(n_r) + double(unobserved_weight) * double(n), double(reg_exponent));
  }

  void validate() const;
  // Confidence c of a stored weight w > 0, in the precision of w (training
  // uses float; serving's fold-in double, see serving_model.hpp).
  template <class T>
  T confidence_of(T w) const {
    return confidence == Confidence::Linear ? T(1) + T(alpha) * w
                                            : T(1) + T(alpha) * std::log1p(w / T(epsilon));
  }
};

}  // namespace vidrec
