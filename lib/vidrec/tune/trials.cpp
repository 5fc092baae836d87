// SPDX-License-Identifier: MIT
#include "vidrec/tune/trials.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <thread>

#include "vidrec/als/train.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/base/parallel.hpp"
#include "vidrec/evaluate/evaluate.hpp"
#include "vidrec/model/model.hpp"

namespace vidrec {

namespace {

constexpr uint64_t kPairsPerThread = 200000;              // a trial's share of threads
constexpr uint64_t kKeptFactorBytes = uint64_t{1} << 30;  // a rung's factors kept for warm starts

DataFacts facts_of(const Dataset& ds) {
  DataFacts f;
  f.users = ds.n_users();
  f.videos = ds.n_videos();
  const CsrView m = ds.user_items();
  int64_t oldest = std::numeric_limits<int64_t>::max(), newest = std::numeric_limits<int64_t>::min();
  for (uint64_t k = 0; k < m.nnz(); ++k) {
    f.positives += m.values[k] > 0;
    f.negative_weights |= m.values[k] < 0;
    oldest = std::min(oldest, ds.last_ts()[k]);
    newest = std::max(newest, ds.last_ts()[k]);
  }
  f.time_span = m.nnz() > 0 ? newest - oldest : 0;
  return f;
}

}  // namespace

Validation::Validation(const Dataset& ds, const SplitConfig& split, SpillDir& dir) {
  SplitParts parts = split_dataset(ds, split);
  if (parts.test_users == 0) {
    const double need = std::ceil(1.0 / split.test_fraction - 1e-9);
    throw InputError(ds.path() + ": no user has enough pairs to hold out a validation part: with " +
                     "validation-fraction " + nlohmann::json(split.test_fraction).dump() +
                     " a user needs at least " + std::to_string(uint64_t(need)) +
                     " distinct videos; try a larger --validation-fraction");
  }
  test_users_ = parts.test_users;
  const std::string train_path = dir.next_file(), test_path = dir.next_file();
  write_dataset(parts.train, train_path);
  parts.train = {};
  write_dataset(parts.test, test_path);
  train_ = Dataset::open(train_path);
  test_ = Dataset::open(test_path);
  facts_ = facts_of(train_);
}

TrialRunner::TrialRunner(const Validation& val, SpillDir& dir, TrialOptions opt)
    : val_(val), opt_(std::move(opt)) {
  const unsigned all = resolve_threads(opt_.threads);
  const uint64_t want = (val.train().nnz() + kPairsPerThread - 1) / kPairsPerThread;
  per_trial_ = unsigned(std::clamp<uint64_t>(want, 1, all));
  workers_ = all / per_trial_;
  for (unsigned w = 0; w < workers_; ++w) model_paths_.push_back(dir.next_file());
}

TrialRunner::Done TrialRunner::evaluate(const Job& job, unsigned threads, const std::string& model_path,
                                        bool keep) {
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [&start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  Trial& trial = trials_[job.trial];
  const TrainSettings s =
      settings_of(trial.values, val_.facts(), opt_.rungs[job.rung], opt_.seed + job.replica);
  AlsConfig als = s.als;
  als.threads = threads;
  const AlsModelFactors* from = nullptr;
  if (job.from_rung >= 0 && trial.factors) {
    from = &*trial.factors;
    als.iterations -= opt_.rungs[size_t(job.from_rung)];
  }
  const Dataset& train = val_.train();
  CsrView users = train.user_items(), videos = train.item_users();
  std::optional<WeightedMatrix> weighted;
  if (s.weighting.active()) {
    weighted.emplace(apply_weighting(users, videos, train.last_ts(), s.weighting));
    users = weighted->user_items;
    videos = weighted->item_users;
  }
  AlsTrainResult result;
  try {
    result = train_als(users, videos, als, {}, from);
  } catch (const InputError& e) {  // diverged: a bad corner of the space, not a failed run
    trial.factors.reset();
    return {std::numeric_limits<double>::quiet_NaN(), e.what(), seconds()};
  }
  weighted.reset();
  ModelData md;
  md.factors = als.factors;
  md.user_factors = result.factors.user_factors.memptr();
  md.video_factors = result.factors.item_factors.memptr();
  md.meta = {{"tool", "vidrec " VIDREC_VERSION " tune"}, {"trial", job.trial}};
  write_model(train, md, model_path);
  EvaluateConfig ec;
  ec.k = opt_.metric.k;
  ec.threads = threads;
  const double value = opt_.metric.of(vidrec::evaluate(Model::open(model_path), val_.test(), ec).model);
  if (keep)
    trial.factors = std::move(result.factors);
  else
    trial.factors.reset();
  return {value, "", seconds()};
}

void TrialRunner::report(const Job& job, const Done& done) {
  if (!opt_.on_evaluation) return;
  const TrainSettings s =
      settings_of(trials_[job.trial].values, val_.facts(), opt_.rungs[job.rung], opt_.seed + job.replica);
  nlohmann::ordered_json j;
  j["trial"] = job.trial;
  j["rung"] = job.rung;
  j["iterations"] = s.als.iterations;
  j["seed"] = s.als.seed;
  j["parameters"] = parameters_json(s);
  j["metric"] = opt_.metric.name();
  j["value"] = std::isnan(done.value) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(done.value);
  if (!done.error.empty()) j["error"] = done.error;
  j["seconds"] = std::round(done.seconds * 1000) / 1000;
  opt_.on_evaluation(j);
}

bool TrialRunner::out_of_time(const Job& job) const {
  if (opt_.deadline == std::chrono::steady_clock::time_point::max()) return false;
  const double reserve = job.replica == 0 ? check_seconds() : 0;
  return std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                std::chrono::duration<double>(reserve)) >=
         opt_.deadline;
}

double TrialRunner::check_seconds() const {
  std::vector<const Trial*> ranked;
  for (const Trial& t : trials_)
    if (!std::isnan(t.best)) ranked.push_back(&t);
  const size_t k = std::min<size_t>(ranked.size(), opt_.check_candidates);
  // Ties to the lower trial: the earlier in trials_ (a stable order).
  std::partial_sort(ranked.begin(), ranked.begin() + k, ranked.end(), [](const Trial* a, const Trial* b) {
    return a->best > b->best || (a->best == b->best && a < b);
  });
  double sum = 0;
  for (size_t i = 0; i < k; ++i) sum += ranked[i]->seconds;
  return sum * opt_.check_replicas / workers_;
}

std::vector<std::optional<double>> TrialRunner::run(const std::vector<Job>& jobs) {
  const size_t n = jobs.size();
  // Factors no job continues are dropped; this rung's are kept when they fit.
  std::vector<char> continued(trials_.size(), 0);
  uint64_t bytes = 0;
  for (const Job& j : jobs) {
    if (j.from_rung >= 0) continued[j.trial] = 1;
    bytes += (uint64_t(val_.train().n_users()) + val_.train().n_videos()) *
             uint64_t(trials_[j.trial].values[size_t(Param::Factors)]) * sizeof(float);
  }
  for (size_t t = 0; t < trials_.size(); ++t)
    if (!continued[t]) trials_[t].factors.reset();
  const bool keep = !jobs.empty() && jobs[0].replica == 0 && jobs[0].rung + 1 < opt_.rungs.size() &&
                    bytes <= kKeptFactorBytes;

  const unsigned all = resolve_threads(opt_.threads);
  const unsigned side_by_side = unsigned(std::min<size_t>(workers_, std::max<size_t>(n, 1)));
  std::vector<Done> done(n);
  std::vector<char> finished(n, 0);
  std::mutex mutex;
  size_t next = 0, reported = 0;
  bool stop = false;
  std::exception_ptr error;
  auto worker = [&](unsigned w) {
    const unsigned threads = all / side_by_side + (w < all % side_by_side ? 1 : 0);
    try {
      for (;;) {
        size_t j;
        {
          std::lock_guard<std::mutex> lock(mutex);
          if (stop || next == n) return;
          if (started_ > 0 && out_of_time(jobs[next])) {
            deadline_passed_ = stop = true;
            return;
          }
          j = next++;
          ++started_;
        }
        Done d = evaluate(jobs[j], threads, model_paths_[w], keep);
        std::lock_guard<std::mutex> lock(mutex);
        if (jobs[j].replica == 0) {
          Trial& t = trials_[jobs[j].trial];
          t.seconds += d.seconds;
          if (!std::isnan(d.value) && !(d.value <= t.best)) t.best = d.value;
        }
        done[j] = std::move(d);
        finished[j] = 1;
        for (; reported < n && finished[reported]; ++reported) report(jobs[reported], done[reported]);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!error) error = std::current_exception();
      stop = true;
    }
  };
  std::vector<std::thread> pool;
  try {
    for (unsigned w = 1; w < side_by_side; ++w) pool.emplace_back(worker, w);
  } catch (...) {  // could not start a thread: stop, join those started
    std::lock_guard<std::mutex> lock(mutex);
    error = std::current_exception();
    stop = true;
  }
  worker(0);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);

  std::vector<std::optional<double>> values(n);
  for (size_t j = 0; j < n; ++j)
    if (finished[j]) values[j] = done[j].value;
  return values;
}

}  // namespace vidrec
