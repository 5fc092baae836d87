// SPDX-License-Identifier: MIT
#include "vidrec/explain/explain.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "vidrec/base/errors.hpp"

namespace vidrec {

UserSystem stored_user_system(const Model& m, const FoldIn& fi, uint32_t u) {
  const float* w = m.seen_weights(u);
  if (!w)
    throw InputError(m.path() +
                     ": the model does not keep its training weights (written by an older vidrec): "
                     "retrain it to explain recommendations");
  const auto [b, e] = m.seen(u);
  const std::vector<double> weights(w, w + (e - b));
  UserSystem s = user_system(m, fi, b, weights.data(), weights.size());
  if (s.positives == 0)
    throw InputError("user '" + std::string(m.user_id(u)) +
                     "' has no positive interaction in the model: nothing explains its scores");
  return s;
}

Explainer::Explainer(const Model& m, UserSystem s) : model_(m), s_(std::move(s)) {
  if (!arma::chol(chol_, s_.A))
    throw std::runtime_error("explain: the user's system is not positive definite");
}

std::vector<Because> Explainer::contributions(uint32_t v, double* score) const {
  const uint32_t f = model_.factors();
  const float* yv = model_.video_vector(v);
  const arma::vec y(std::vector<double>(yv, yv + f));
  // z = W y_v = A^-1 y_v by the two triangular solves of A = R^T R.
  const arma::vec t = arma::solve(arma::trimatl(chol_.t()), y);
  const arma::vec z = arma::solve(arma::trimatu(chol_), t);
  std::vector<Because> out;
  out.reserve(s_.videos.size());
  double sum = 0;
  for (size_t j = 0; j < s_.videos.size(); ++j) {
    if (s_.target[j] == 0) continue;  // a negative pair: p = 0
    const float* yj = model_.video_vector(s_.videos[j]);
    double s_ij = 0;
    for (uint32_t a = 0; a < f; ++a) s_ij += z[a] * double(yj[a]);
    const double c = s_ij * s_.target[j];
    sum += c;
    out.push_back({s_.videos[j], c});
  }
  std::sort(out.begin(), out.end(), [](const Because& a, const Because& b) {
    return a.contribution != b.contribution ? a.contribution > b.contribution : a.video < b.video;
  });
  if (score) *score = sum;
  return out;
}

void Explainer::explain(Recommendations& r, uint32_t n) const {
  r.because.clear();
  for (const Scored& s : r.items) {
    std::vector<Because> c = contributions(s.video);
    if (c.size() > n) c.resize(n);
    r.because.push_back(std::move(c));
  }
}

PairExplanation explain_pair(const Model& m, const FoldIn& fi, uint32_t u, uint32_t v, uint32_t n) {
  PairExplanation p;
  const Explainer ex(m, stored_user_system(m, fi, u));
  p.top = ex.contributions(v, &p.score);
  const float *x = m.user_vector(u), *y = m.video_vector(v);
  for (uint32_t a = 0; a < m.factors(); ++a) p.model_score += double(x[a]) * y[a];
  // The rest, summed from the smallest up, so `other` is exact when it is tiny.
  for (size_t j = p.top.size(); j-- > n;) p.other += p.top[j].contribution;
  if (p.top.size() > n) p.top.resize(n);
  return p;
}

void explain_stored(const Model& m, const FoldIn& fi, Recommendations& r, uint32_t n) {
  if (r.source != Source::Model || r.items.empty()) return;
  Explainer(m, stored_user_system(m, fi, *m.find_user(r.id))).explain(r, n);
}

}  // namespace vidrec
