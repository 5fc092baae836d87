// SPDX-License-Identifier: MIT
// The model as a server holds it: the mapped model file plus what answering
// needs once per model (the regularised Gram matrix of the video factors for
// fold-in, the norm-ordered panel, hash indexes of the ids), and the batched
// scoring of many requests' users in one pass.
//
// Contract
// - ServingModel is immutable once loaded (Verify::Full, then fast answers)
//   and shared through ModelSlot as a std::shared_ptr: a reload swaps the
//   pointer atomically, requests in flight finish on the model they started
//   with, and the old one is unmapped when its last request ends.
#pragma once
#include <armadillo>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vidrec/als/config.hpp"
#include "vidrec/als/train.hpp"
#include "vidrec/dataset/dataset.hpp"
#include "vidrec/explain/fold_in.hpp"
#include "vidrec/model/model.hpp"
#include "vidrec/recommend/scoring.hpp"

namespace vidrec {

// A model ready to serve: the mapped file plus what fold-in needs once per
// model (the regularised Gram matrix of the video factors).
class ServingModel {
 public:
  // Opens and fully verifies `path`; throws FormatError/IoError.
  static std::shared_ptr<const ServingModel> load(const std::string& path);

  const Model& model() const { return model_; }
  const AlsConfig& als() const { return fold_in_.als; }
  const FoldIn& folding() const { return fold_in_; }
  // The video factors ordered for early termination (a copy made at load:
  // a server scores them many thousand times a second).
  const NormOrderedPanel& ranked() const { return ranked_; }
  // Id lookups through hash indexes built at load.
  std::optional<uint32_t> find_user(std::string_view id) const { return user_index_.find(id); }
  std::optional<uint32_t> find_video(std::string_view id) const { return video_index_.find(id); }
  // Top k for a user described only by (video index ascending, weight)
  // pairs, weighted and solved as training did (the model's
  // hyperparameters: alpha0, lambda_u, negative weight, BM25/TF-IDF); empty
  // when none of the weights is positive. Solved in double:
  // exact (to the ranking) for weights up to requests.hpp's kMaxHistoryValue
  // and beyond. Throws std::runtime_error if the system is singular.
  // Searched through the model's ANN index when it has one (ef 0 = default).
  std::vector<Scored> fold_in(const std::vector<uint32_t>& videos, const std::vector<double>& weights,
                              const Exclusion& exclusion, uint32_t k, uint32_t ef = 0) const;
  double load_seconds() const { return load_seconds_; }
  std::chrono::system_clock::time_point loaded_at() const { return loaded_at_; }

 private:
  explicit ServingModel(Model m);
  Model model_;
  FoldIn fold_in_;
  NormOrderedPanel ranked_;
  IdIndex user_index_, video_index_;
  double load_seconds_ = 0;
  std::chrono::system_clock::time_point loaded_at_;
};

// The model being served; empty until the first load succeeds.
class ModelSlot {
 public:
  std::shared_ptr<const ServingModel> get() const { return std::atomic_load(&current_); }
  void set(std::shared_ptr<const ServingModel> m) { std::atomic_store(&current_, std::move(m)); }

 private:
  std::shared_ptr<const ServingModel> current_;
};

// One user's scoring: what an event loop collects from the requests that
// arrived together and scores in one pass (score_jobs).
struct ScoringJob {
  const ServingModel* model = nullptr;  // the caller keeps it alive
  const float* query = nullptr;
  Exclusion exclusion;
  uint32_t k = 10;
  uint32_t ef = 0;  // the ANN index's search breadth (0 = default)
  std::vector<Scored> result;
  bool failed = false;  // scoring ran out of memory
};

// Jobs asking for more than this many results are scored alone: a large k
// would slow every query of a shared pass.
constexpr uint32_t kSharedK = 100;

// Scores the jobs; jobs on the same model with k <= kSharedK share passes
// over its videos (a pass costs about the same for eight queries as for
// one). Each result is what top_k answers for that job alone, ties included:
// batching changes the cost, never the answer. A model with an ANN index
// answers each job through it instead (recommend/approximate.hpp), falling
// back to the shared exact pass. Thread-safe (no shared state).
void score_jobs(ScoringJob* const* jobs, size_t count);

}  // namespace vidrec
