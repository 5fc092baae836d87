// SPDX-License-Identifier: MIT
// What `vidrec serve` answers, without sockets: the loaded model, request
// parsing and validation, the fold-in of users the model has not seen, and
// the Prometheus metrics. serve.hpp puts this behind HTTP.
//
// Contract
// - ServingModel is immutable once loaded (Verify::Full, then fast answers)
//   and shared through ModelSlot as a std::shared_ptr: a reload swaps the
//   pointer atomically, requests in flight finish on the model they started
//   with, and the old one is unmapped when its last request ends.
// - Api::handle() maps one request to one reply, checking in this order:
//   unknown path 404, wrong method 405 (with Allow), no model 503, wrong
//   Content-Type 415, malformed JSON or fields 400 (the message names the
//   field and the rule). Unknown fields are ignored. Error bodies are
//   {"error":"..."}. It never throws.
// - /invocations answers exactly what `vidrec recommend` prints for that
//   user (ResultWriter, JSON, with its newline); a batch {"instances":[...]}
//   answers {"predictions":[...]} in input order.
// - With "history", the user's factors are solved against the video factors
//   (the exact ALS user step with the model's hyperparameters, as implicit's
//   recalculate_user), and the history's videos are excluded unless
//   include_seen. A user without factors or usable history gets the popular
//   videos, marked "source":"popular".
#pragma once
#include <armadillo>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "vidrec/als/config.hpp"
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
  const AlsConfig& als() const { return als_; }
  // The video factors ordered for early termination (a copy made at load:
  // a server scores them many thousand times a second).
  const NormOrderedPanel& ranked() const { return ranked_; }
  // Id lookups through hash indexes built at load.
  std::optional<uint32_t> find_user(std::string_view id) const { return user_index_.find(id); }
  std::optional<uint32_t> find_video(std::string_view id) const { return video_index_.find(id); }
  // Top k for a user described only by (video index ascending, weight)
  // pairs; empty when none of the weights is positive.
  std::vector<Scored> fold_in(const std::vector<uint32_t>& videos, const std::vector<float>& weights,
                              const Exclusion& exclusion, uint32_t k) const;
  double load_seconds() const { return load_seconds_; }
  std::chrono::system_clock::time_point loaded_at() const { return loaded_at_; }

 private:
  explicit ServingModel(Model m);
  Model model_;
  AlsConfig als_;
  arma::fmat gram_;
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
  std::vector<Scored> result;
  bool failed = false;  // scoring ran out of memory
};

// Jobs asking for more than this many results are scored alone: a large k
// would slow every query of a shared pass.
constexpr uint32_t kSharedK = 100;

// Scores the jobs; jobs on the same model with k <= kSharedK share passes
// over its videos (a pass costs about the same for eight queries as for
// one). Each result is what top_k answers for that job alone, ties included:
// batching changes the cost, never the answer. Thread-safe (no shared state).
void score_jobs(ScoringJob* const* jobs, size_t count);

// Most results any request may ask for: bounds the reply size and the work.
constexpr uint32_t kMaxK = 10000;
// Most instances in one batch request.
constexpr size_t kMaxInstances = 10000;

struct HistoryItem {
  std::string video_id;
  double value = 1.0;
};

// One user's request ({"user_id":...} or an element of "instances").
struct Invocation {
  std::string user_id;
  uint32_t k = 10;
  bool include_seen = false;
  std::vector<std::string> exclude;
  std::vector<HistoryItem> history;
  bool has_history = false;
};

// Parse one instance; `where` prefixes messages ("instances[2]."). Throws
// InputError naming the field and the rule.
Invocation parse_invocation(const nlohmann::json& j, const std::string& where = "");
// Parse a whole /invocations body: one instance, or a batch (batch = true).
std::vector<Invocation> parse_invocations(std::string_view body, bool& batch);

// Counters and a latency histogram per endpoint, lock-free (many request
// threads update them), rendered in the Prometheus text format 0.0.4.
class Metrics {
 public:
  enum Endpoint { Ping, Invocations, Similar, MetricsPage, Other, kEndpoints };
  static Endpoint endpoint_of(std::string_view path);
  void observe(Endpoint e, int status, double seconds);
  void model_loaded() { reloads_.fetch_add(1, std::memory_order_relaxed); }
  void model_refused() { refusals_.fetch_add(1, std::memory_order_relaxed); }
  std::string render(const ServingModel* model) const;

  static constexpr std::array<double, 12> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                      0.01,   0.025,   0.05,   0.1,   0.5,    1.0};

 private:
  static constexpr int kMinStatus = 100, kStatuses = 500;
  std::array<std::array<std::atomic<uint64_t>, kStatuses>, kEndpoints> requests_{};
  std::array<std::array<std::atomic<uint64_t>, kBuckets.size() + 1>, kEndpoints> buckets_{};
  std::array<std::atomic<uint64_t>, kEndpoints> sum_ns_{};
  std::atomic<uint64_t> reloads_{0}, refusals_{0};
};

struct HttpRequest {
  std::string_view method, path, content_type, body;
};

struct HttpReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::string allow;  // the Allow header of a 405
};

// {"error":"..."} with a newline.
std::string error_body(std::string_view message);

class Api {
 public:
  Api(const ModelSlot& slot, const Metrics& metrics) : slot_(slot), metrics_(metrics) {}

  // An /invocations request whose scoring is left to the caller, so that an
  // event loop can score the jobs of many requests together. It holds the
  // model it started on.
  struct Deferred;
  struct DeferredDeleter {
    void operator()(Deferred* d) const;
  };
  struct Started {
    HttpReply reply;                                      // the answer, unless deferred
    std::unique_ptr<Deferred, DeferredDeleter> deferred;  // set: score jobs(), then finish()
  };
  // Requests for known users (without a history) are deferred; the rest
  // are answered at once.
  Started start(const HttpRequest& req) const;
  static std::vector<ScoringJob>& jobs(Deferred& d);
  HttpReply finish(Deferred& d) const;
  // start(), score_jobs() on this thread, finish().
  HttpReply handle(const HttpRequest& req) const;

 private:
  Started invocations(std::shared_ptr<const ServingModel> m, std::string_view body) const;
  HttpReply similar(const ServingModel& m, std::string_view body) const;
  const ModelSlot& slot_;
  const Metrics& metrics_;
};

}  // namespace vidrec
