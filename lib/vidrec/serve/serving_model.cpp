// SPDX-License-Identifier: MIT
#include "vidrec/serve/serving_model.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "vidrec/base/errors.hpp"
#include "vidrec/recommend/approximate.hpp"

namespace vidrec {

namespace {

// The video factors (f x n, one video per column) viewed in place in the
// mapped file: no copy of a model that may be gigabytes.
arma::fmat video_matrix(const Model& m) {
  return arma::fmat(const_cast<float*>(m.video_factors()), m.factors(), m.n_videos(), false, true);
}

AlsConfig serving_config(const Model& m, Weighting& weighting, WeightingStats& stats) {
  AlsConfig c;
  const nlohmann::json& meta = m.meta();
  try {
    if (meta.contains("hyperparameters")) {
      const nlohmann::json& h = meta["hyperparameters"];
      read_hyperparameters(h, c, weighting);
      if (h.contains("weighting") && h["weighting"].contains("stats")) {
        const nlohmann::json& st = h["weighting"]["stats"];
        stats.users = st.at("users").get<uint64_t>();
        stats.avg_len = st.at("avg_len").get<double>();
        stats.now = st.at("now").get<int64_t>();
      }
    }
    c.factors = m.factors();
    c.solver = AlsConfig::Solver::Cholesky;  // one row per request: the exact solve is cheap
    c.threads = 1;
    c.validate();
    weighting.validate();
  } catch (const std::exception& e) {  // ConfigError, or JSON of the wrong type
    throw FormatError(m.path() + ": unusable hyperparameters in the model: " + e.what());
  }
  return c;
}

// alpha0 Y Y^T (+ lambda I when lambda is the same for every user) in
// double, a slice of videos at a time (no double copy of a large model).
arma::mat gram_double(const Model& m, const AlsConfig& cfg) {
  const arma::fmat Y = video_matrix(m);
  arma::mat G(m.factors(), m.factors(), arma::fill::zeros);
  constexpr arma::uword kSlice = 4096;
  for (arma::uword n0 = 0; n0 < Y.n_cols; n0 += kSlice) {
    const arma::mat y =
        arma::conv_to<arma::mat>::from(Y.cols(n0, std::min<arma::uword>(n0 + kSlice, Y.n_cols) - 1));
    G += y * y.t();
  }
  G *= double(cfg.unobserved_weight);
  if (cfg.reg_exponent == 0.0f) G.diag() += double(cfg.regularization);
  return G;
}

}  // namespace

ServingModel::ServingModel(Model m)
    : model_(std::move(m)), als_(serving_config(model_, weighting_, weighting_stats_)) {
  gram_ = gram_double(model_, als_);
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
  std::vector<ScoringJob*> left, group, rest;
  for (size_t i = 0; i < count; ++i) {
    ScoringJob* j = jobs[i];
    try {
      if (approximate_top_k(j->model->model(), AnnSpace::InnerProduct, j->query, j->exclusion, j->k, j->ef,
                            j->result))
        continue;
    } catch (const std::exception&) {  // out of memory: the caller answers 503
      j->failed = true;
      continue;
    }
    left.push_back(j);
  }
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
  std::shared_ptr<ServingModel> m(
      new ServingModel(Model::from_file(MappedFile::copy(path), Model::Verify::Full)));
  m->load_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  m->loaded_at_ = std::chrono::system_clock::now();
  return m;
}

std::vector<Scored> ServingModel::fold_in(const std::vector<uint32_t>& videos,
                                          const std::vector<double>& weights, const Exclusion& exclusion,
                                          uint32_t k, uint32_t ef) const {
  // The exact ALS user step (solver.hpp), A x = b with
  // A = G + lambda_u I + sum_j (c_j - alpha0) y_j y_j^T, b = sum_j c_j p_j y_j,
  // in double: in float, rounding of (c - alpha0) y y^T (c * 6e-8) swamps G's
  // smallest eigenvalue for large c, and the solve turned to NaN (an empty
  // answer). The history is weighted as training weighted the matrix, but
  // never decayed: it is happening now.
  const uint32_t f = model_.factors();
  const float* Y = model_.video_factors();
  const uint32_t* popularity = weighting_.scheme != Weighting::Scheme::None ? model_.popularity() : nullptr;
  double length = 0;  // BM25's document length: the history's positive weight
  for (const double w : weights)
    if (w > 0) length += w;
  arma::mat A = gram_;
  arma::vec b(f, arma::fill::zeros);
  constexpr size_t kSlice = 256;  // entries per rank-n update
  arma::mat plus(f, kSlice), minus(f, kSlice);
  size_t n_plus = 0, n_minus = 0, positives = 0;
  auto flush = [&](arma::mat& slice, size_t& n, double sign) {
    if (n > 0) A += sign * (slice.head_cols(n) * slice.head_cols(n).t());
    n = 0;
  };
  const double a0 = als_.unobserved_weight;
  for (size_t j = 0; j < videos.size(); ++j) {
    const double w =
        popularity ? weight_fold_in(weights[j], weighting_, weighting_stats_, popularity[videos[j]], length)
                   : weights[j];
    double extra = 0, target = 0;
    if (w > 0) {
      target = als_.confidence_of(w);
      extra = target - a0;
      ++positives;
    } else if (w < 0 && als_.negative_weight > 0) {
      extra = double(als_.negative_weight) * (als_.confidence_of(-w) - 1.0);
    } else {
      continue;
    }
    const float* y = Y + size_t(videos[j]) * f;
    arma::mat& slice = extra >= 0 ? plus : minus;
    size_t& n = extra >= 0 ? n_plus : n_minus;
    const double root = std::sqrt(std::abs(extra));
    for (uint32_t a = 0; a < f; ++a) {
      slice(a, n) = root * y[a];
      b[a] += target * y[a];
    }
    if (++n == kSlice) flush(slice, n, extra >= 0 ? 1.0 : -1.0);
  }
  flush(plus, n_plus, 1.0);
  flush(minus, n_minus, -1.0);
  if (positives == 0) return {};
  if (als_.reg_exponent != 0.0f) A.diag() += als_.row_regularization(positives, model_.n_videos());
  arma::vec x;
  if (!arma::solve(x, A, b, arma::solve_opts::likely_sympd + arma::solve_opts::no_approx) || !x.is_finite())
    throw std::runtime_error("fold-in: the history's least-squares system is singular");
  const std::vector<float> query(x.begin(), x.end());
  const float* q = query.data();
  std::vector<Scored> out;
  if (!approximate_top_k(model_, AnnSpace::InnerProduct, q, exclusion, k, ef, out))
    top_k_pruned(ranked_, &q, &exclusion, 1, k, &out);
  return out;
}

}  // namespace vidrec
