// SPDX-License-Identifier: MIT
// Why a video is recommended: a score split into one contribution per video
// the user interacted with (Hu, Koren & Volinsky 2008, section 5).
//
// Contract
// - The user's factors solve A x = b (fold_in.hpp: the user step of the
//   model's objective, alpha0, lambda_u, negative weights and weighting
//   included), so with W = A^-1 the score of video i is
//     y_i . x = sum_j s_ij c_j p_j,   s_ij = y_i^T W y_j,
//   and contribution j = s_ij c_j p_j (0 for negative pairs: p = 0; they
//   act through W only). A is factorised once (Cholesky) per user.
// - The contributions sum to the score of the re-solved x, reported as
//   `score` (computed as that sum). A stored user's factors come from the
//   last ALS sweep, solved against the previous half-iteration's video
//   factors (and, with the CG solver, approximately), so the model's own
//   score differs from it by that last step (small once training has
//   converged): explain reports both.
// - A stored user's system is built from the training weights kept in the
//   model (Model::seen_weights); a model without them is an InputError
//   asking for a retrained model.
#pragma once
#include <armadillo>
#include <cstdint>
#include <vector>

#include "vidrec/explain/fold_in.hpp"
#include "vidrec/model/model.hpp"
#include "vidrec/recommend/recommend.hpp"

namespace vidrec {

// The system of model user u (InputError: no stored weights, or no profile).
UserSystem stored_user_system(const Model& m, const FoldIn& fi, uint32_t u);

class Explainer {
 public:
  // std::runtime_error when A is not positive definite.
  Explainer(const Model& m, UserSystem s);
  // Every contribution to video v's score, largest first (ties: lower
  // index); with `score`, their sum.
  std::vector<Because> contributions(uint32_t v, double* score = nullptr) const;
  // The top n contributions of each recommended video, into r.because.
  void explain(Recommendations& r, uint32_t n) const;

 private:
  const Model& model_;
  UserSystem s_;
  arma::mat chol_;  // upper R, A = R^T R
};

// `vidrec explain`: the score of video v for user u split up, the top n
// contributions listed and the sum of the rest in `other`; model_score is
// the stored factors' dot product.
struct PairExplanation {
  double score = 0, model_score = 0, other = 0;
  std::vector<Because> top;
};
PairExplanation explain_pair(const Model& m, const FoldIn& fi, uint32_t u, uint32_t v, uint32_t n);

// The because lists of a stored user's recommendations (r.id in the model,
// r.source Model; a popular fallback is left without).
void explain_stored(const Model& m, const FoldIn& fi, Recommendations& r, uint32_t n);

}  // namespace vidrec
