// SPDX-License-Identifier: MIT
// tune's trials: the validation split it scores on, and the rungs' jobs run
// side by side (tune.hpp states what tune promises; this is how).
//
// Contract
// - Validation splits a dataset (split.hpp) and writes both parts into a
//   SpillDir, from where they are opened; a split that holds nothing out is an
//   InputError naming the dataset and what a user needs.
// - TrialRunner::run evaluates one rung's jobs: the trial's settings
//   (settings.hpp) with the rung's iterations and the seed + the job's
//   replica, continued from its factors at the previous rung when it kept
//   them (never for a replica); the model is written into the
//   SpillDir (one file per worker, rewritten) and scored by evaluate() on the
//   held-out part. ALS diverging is a failed evaluation (NaN), not an error.
// - Jobs are handed out in order; before each but the very first, the
//   deadline is checked and, once passed, no further job starts, so the jobs
//   that ran are a prefix and there is always a result. A search job (replica
//   0) also needs the time the final check will take left before the
//   deadline: the check_replicas rounds of the check_candidates best trials
//   (by their best value so far, ties to the lower trial), each taking its
//   trial's seconds so far, shared among the workers. Each evaluation is reported (the JSON line of
//   tune.hpp) in job order as soon as it and those before it are done.
// - Factors are kept for the next rung only while a rung's would take at most
//   1 GiB; beyond that a kept trial trains again from the start, which gives
//   the same model (als/loop.hpp), only slower.
#pragma once
#include <armadillo>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "vidrec/als/loop.hpp"
#include "vidrec/dataset/dataset.hpp"
#include "vidrec/evaluate/split.hpp"
#include "vidrec/io/spill_dir.hpp"
#include "vidrec/tune/search.hpp"
#include "vidrec/tune/settings.hpp"
#include "vidrec/tune/space.hpp"

namespace vidrec {

class Validation {
 public:
  Validation(const Dataset& ds, const SplitConfig& split, SpillDir& dir);
  const Dataset& train() const { return train_; }
  const Dataset& test() const { return test_; }
  const DataFacts& facts() const { return facts_; }
  uint32_t test_users() const { return test_users_; }

 private:
  Dataset train_, test_;
  DataFacts facts_;
  uint32_t test_users_ = 0;
};

struct TrialOptions {
  Metric metric;
  std::vector<uint32_t> rungs;
  uint64_t seed = 42;
  unsigned threads = 0;  // all of them, shared out between trials
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  uint32_t check_candidates = 0, check_replicas = 0;  // the final check (search.hpp) to leave time for
  std::function<void(const nlohmann::ordered_json&)> on_evaluation;
};

class TrialRunner {
 public:
  TrialRunner(const Validation& val, SpillDir& dir, TrialOptions opt);
  // A new trial (ids in order) and the values of its parameters.
  void add_trial(const Point& values) {
    trials_.push_back({values, std::nullopt, std::numeric_limits<double>::quiet_NaN(), 0});
  }
  const Point& values(uint32_t trial) const { return trials_[trial].values; }
  std::vector<std::optional<double>> run(const std::vector<Job>& jobs);
  bool deadline_passed() const { return deadline_passed_; }
  // Trials side by side and threads each: for tune's report.
  unsigned workers() const { return workers_; }
  unsigned threads_per_trial() const { return per_trial_; }

 private:
  struct Trial {
    Point values;
    std::optional<AlsModelFactors> factors;                  // at the rung last evaluated, when kept
    double best = std::numeric_limits<double>::quiet_NaN();  // its best value so far
    double seconds = 0;                                      // its evaluations' time so far
  };
  struct Done {
    double value = 0;
    std::string error;
    double seconds = 0;
  };
  Done evaluate(const Job& job, unsigned threads, const std::string& model_path, bool keep);
  void report(const Job& job, const Done& done);
  double check_seconds() const;  // the final check's estimated wall time
  bool out_of_time(const Job& job) const;

  const Validation& val_;
  TrialOptions opt_;
  std::vector<std::string> model_paths_;  // one per worker
  unsigned workers_ = 1, per_trial_ = 1;
  std::vector<Trial> trials_;
  uint64_t started_ = 0;  // evaluations started, over all runs
  bool deadline_passed_ = false;
};

}  // namespace vidrec
