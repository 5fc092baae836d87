// SPDX-License-Identifier: MIT
#include "vidrec/serve/serving_model.hpp"

#include <algorithm>
#include <chrono>

#include "vidrec/als/solver.hpp"
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

}  // namespace

ServingModel::ServingModel(Model m) : model_(std::move(m)), als_(serving_config(model_)) {
  if (model_.n_videos() > 0) gram_ = gram(video_matrix(model_), als_.regularization, 0);
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
                                          const std::vector<float>& weights, const Exclusion& exclusion,
                                          uint32_t k) const {
  if (std::none_of(weights.begin(), weights.end(), [](float w) { return w > 0; })) return {};
  const uint64_t indptr[2] = {0, videos.size()};
  CsrView row;
  row.rows = 1;
  row.cols = model_.n_videos();
  row.indptr = indptr;
  row.indices = videos.data();
  row.values = weights.data();
  arma::fmat x(model_.factors(), 1, arma::fill::zeros);
  RowScratch scratch(model_.factors(), videos.size());
  solve_rows(row, video_matrix(model_), gram_, als_, x, 0, 1, scratch);
  const float* query = x.memptr();
  std::vector<Scored> out;
  top_k_pruned(ranked_, &query, &exclusion, 1, k, &out);
  return out;
}

}  // namespace vidrec
