// SPDX-License-Identifier: MIT
// Hyper-parameters of implicit-feedback ALS (Hu, Koren & Volinsky 2008).
//
// Contract: every stored weight w of the user x video matrix becomes a
// preference p = 1 with confidence
//   Linear: c = 1 + alpha * w
//   Log:    c = 1 + alpha * log(1 + w / epsilon)
// Entries with w <= 0 (or NaN) are treated exactly like unobserved pairs
// (p = 0, c = 1). validate() throws ConfigError naming the broken rule.
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
