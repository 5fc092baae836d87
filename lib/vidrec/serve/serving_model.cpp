// SPDX-License-Identifier: MIT
#include "vidrec/serve/serving_model.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "vidrec/base/errors.hpp"
#include "vidrec/recommend/approximate.hpp"

namespace vidrec {

ServingModel::ServingModel(Model m) : model_(std::move(m)), fold_in_(FoldIn::of(model_)) {
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
  // The exact ALS user step (explain/fold_in.hpp). The history is weighted
  // as training weighted the matrix, but never decayed: it is happening now.
  const std::vector<double> weighted = weigh_history(model_, fold_in_, videos, weights);
  const UserSystem system = user_system(model_, fold_in_, videos.data(), weighted.data(), videos.size());
  if (system.positives == 0) return {};
  const arma::vec x = solve_user(system);
  const std::vector<float> query(x.begin(), x.end());
  const float* q = query.data();
  std::vector<Scored> out;
  if (!approximate_top_k(model_, AnnSpace::InnerProduct, q, exclusion, k, ef, out))
    top_k_pruned(ranked_, &q, &exclusion, 1, k, &out);
  return out;
}

}  // namespace vidrec
