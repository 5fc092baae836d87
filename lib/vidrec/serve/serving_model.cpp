// SPDX-License-Identifier: MIT
#include "vidrec/serve/serving_model.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "vidrec/base/errors.hpp"

namespace vidrec {

namespace {

// The video factors (f x n, one video per column) viewed in place in the
// mapped file: no copy of a model that may be gigabytes.
arma::fmat video_matrix(const Model& m) {
  return arma::fmat(const_cast<float*>(m.video_factors()), m.factors(), m.n_videos(), false, true);
}

AlsConfig serving_config(const Model& m) {
  AlsConfig c;
  const nlohmann::json& meta = m.meta();
  if (meta.contains("hyperparameters")) {
    const nlohmann::json& h = meta["hyperparameters"];
    c.regularization = h.value("regularization", c.regularization);
    c.alpha = h.value("alpha", c.alpha);
    c.epsilon = h.value("epsilon", c.epsilon);
    c.confidence = h.value("confidence", std::string("linear")) == "log" ? AlsConfig::Confidence::Log
                                                                         : AlsConfig::Confidence::Linear;
  }
  c.factors = m.factors();
  c.solver = AlsConfig::Solver::Cholesky;  // one row per request: the exact solve is cheap
  c.threads = 1;
  try {
    c.validate();
  } catch (const ConfigError& e) {
    throw FormatError(m.path() + ": unusable hyperparameters in the model: " + e.what());
  }
  return c;
}

// Y Y^T + lambda I in double, a slice of videos at a time (no double copy
// of a large model).
arma::mat gram_double(const Model& m, double lambda) {
  const arma::fmat Y = video_matrix(m);
  arma::mat G(m.factors(), m.factors(), arma::fill::zeros);
  constexpr arma::uword kSlice = 4096;
  for (arma::uword n0 = 0; n0 < Y.n_cols; n0 += kSlice) {
    const arma::mat y =
        arma::conv_to<arma::mat>::from(Y.cols(n0, std::min<arma::uword>(n0 + kSlice, Y.n_cols) - 1));
    G += y * y.t();
  }
  G.diag() += lambda;
  return G;
}

}  // namespace

ServingModel::ServingModel(Model m) : model_(std::move(m)), als_(serving_config(model_)) {
  gram_ = gram_double(model_, als_.regularization);
  ranked_ = NormOrderedPanel::build(model_.video_factors(), model_.factors(), model_.n_videos());
  user_index_ = IdIndex(model_.user_table());
  video_index_ = IdIndex(model_.video_table());
}

namespace {
// One top_k pass at the largest k among the jobs; each keeps its own first
// k (the order is total, so a prefix of a longer list is the shorter list).
void score_group(ScoringJob* const* jobs, size_t n) {
  uint32_t k = 0;
  std::vector<const float*> queries(n);
  std::vector<Exclusion> exclusions(n);
  for (size_t i = 0; i < n; ++i) {
    k = std::max(k, jobs[i]->k);
    queries[i] = jobs[i]->query;
    exclusions[i] = jobs[i]->exclusion;
  }
  std::vector<std::vector<Scored>> out(n);
  top_k_pruned(jobs[0]->model->ranked(), queries.data(), exclusions.data(), n, k, out.data());
  for (size_t i = 0; i < n; ++i) {
    if (out[i].size() > jobs[i]->k) out[i].resize(jobs[i]->k);
    jobs[i]->result = std::move(out[i]);
  }
}
}  // namespace

void score_jobs(ScoringJob* const* jobs, size_t count) {
  std::vector<ScoringJob*> left(jobs, jobs + count), group, rest;
  while (!left.empty()) {
    group.clear();
    rest.clear();
    for (ScoringJob* j : left)
      (j->model == left[0]->model && (j == left[0] || (j->k <= kSharedK && left[0]->k <= kSharedK)) ? group
                                                                                                    : rest)
          .push_back(j);
    try {
      score_group(group.data(), group.size());
    } catch (const std::exception&) {  // out of memory: the callers answer 503
      for (ScoringJob* j : group) j->failed = true;
    }
    left.swap(rest);
  }
}

std::shared_ptr<const ServingModel> ServingModel::load(const std::string& path) {
  const auto start = std::chrono::steady_clock::now();
  // A private copy, not a mapping: a model rewritten in place on disk can
  // neither change nor fault (SIGBUS) the one being served.
  std::shared_ptr<ServingModel> m(new ServingModel(Model::from_file(MappedFile::copy(path), Model::Verify::Full)));
  m->load_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m->loaded_at_ = std::chrono::system_clock::now();
  return m;
}

std::vector<Scored> ServingModel::fold_in(const std::vector<uint32_t>& videos,
                                          const std::vector<double>& weights, const Exclusion& exclusion,
                                          uint32_t k) const {
  // The exact ALS user step, A x = b with A = G + sum_j (c_j - 1) y_j y_j^T,
  // b = sum_j c_j y_j, over the entries with w > 0, in double: in float,
  // rounding of (c - 1) y y^T (c * 6e-8) swamps G's smallest eigenvalue for
  // large c, and the solve turned to NaN (an empty answer).
  const uint32_t f = model_.factors();
  const float* Y = model_.video_factors();
  arma::mat A = gram_;
  arma::vec b(f, arma::fill::zeros);
  constexpr size_t kSlice = 256;  // entries per rank-n update
  arma::mat slice(f, kSlice);
  size_t n = 0, observed = 0;
  auto flush = [&] {
    if (n > 0) A += slice.head_cols(n) * slice.head_cols(n).t();
    n = 0;
  };
  for (size_t j = 0; j < videos.size(); ++j) {
    if (!(weights[j] > 0)) continue;
    const double c = als_.confidence_of(weights[j]);
    const float* y = Y + size_t(videos[j]) * f;
    const double root = std::sqrt(c - 1);
    for (uint32_t a = 0; a < f; ++a) {
      slice(a, n) = root * y[a];
      b[a] += c * y[a];
    }
    ++observed;
    if (++n == kSlice) flush();
  }
  flush();
  if (observed == 0) return {};
  arma::vec x;
  if (!arma::solve(x, A, b, arma::solve_opts::likely_sympd + arma::solve_opts::no_approx) || !x.is_finite())
    throw std::runtime_error("fold-in: the history's least-squares system is singular");
  const std::vector<float> query(x.begin(), x.end());
  const float* q = query.data();
  std::vector<Scored> out;
  top_k_pruned(ranked_, &q, &exclusion, 1, k, &out);
  return out;
}

}  // namespace vidrec
