// SPDX-License-Identifier: MIT
// What `vidrec serve` answers, without sockets: one request in, one reply
// out, over the model being served (serving_model.hpp), requests parsed by
// requests.hpp and counted in metrics.hpp. serve.hpp puts this behind HTTP.
//
// Contract
// - Api::handle() maps one request to one reply, checking in this order:
//   unknown path 404, wrong method 405 (with Allow), no model 503, wrong
//   Content-Type 415, no acceptable reply type 406 (content.hpp: Accept),
//   malformed JSON or fields 400 (the message names the
//   field and the rule; JSON nested deeper than kMaxJsonDepth is refused
//   while parsing, so no value is ever walked recursively). Unknown fields are ignored. Error bodies are
//   {"error":"..."}. It never throws.
// - /invocations answers exactly what `vidrec recommend` prints for that
//   user (ResultWriter, JSON, with its newline); a batch {"instances":[...]}
//   answers {"predictions":[...]} in input order.
// - /invocations also reads JSON Lines and CSV bodies (requests.hpp; a CSV
//   body's users get the query's ?k=, else csv_k), and answers in the type
//   Accept asks for: JSON (a line body answers {"predictions":[...]}), JSON
//   Lines (one ResultWriter line per request) or CSV (ResultWriter's, with
//   its header and source column); always in request order. /similar reads
//   and answers JSON only.
// - With "history", the user's factors are solved against the video factors
//   (the exact ALS user step with the model's hyperparameters, as implicit's
//   recalculate_user), and the history's videos are excluded unless
//   include_seen. A user without a usable profile (unknown, or factors all
//   zero) and without usable history gets the popular videos, marked
//   "source":"popular" (of the request's "location", as recommend.hpp says).
// - "explain":true adds the top "explain_n" (default 3) contributions to
//   each model recommendation (explain/explain.hpp; of the history's system
//   when there is one); popular fallbacks have none. /similar takes
//   "user_id" instead of "video_id" for the most similar users.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vidrec/recommend/recommend.hpp"
#include "vidrec/serve/content.hpp"
#include "vidrec/serve/metrics.hpp"
#include "vidrec/serve/requests.hpp"
#include "vidrec/serve/serving_model.hpp"

namespace vidrec {

struct HttpRequest {
  HttpRequest(std::string_view method_, std::string_view path_, std::string_view content_type_,
              std::string_view body_, std::string_view accept_ = {},
              std::optional<std::string_view> k_ = std::nullopt)
      : method(method_), path(path_), content_type(content_type_), body(body_), accept(accept_), k(k_) {}
  std::string_view method, path, content_type, body;
  std::string_view accept;            // empty: none sent (*/*)
  std::optional<std::string_view> k;  // the query string's k, when sent
};

struct HttpReply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::string allow;  // the Allow header of a 405
};

// One /invocations request's answer, scored on the calling thread (what
// the deferred jobs answer for known users, and `recommend --history`).
Recommendations answer_invocation(const ServingModel& sm, const Invocation& inv);

// {"error":"..."} with a newline.
std::string error_body(std::string_view message);

class Api {
 public:
  Api(const ModelSlot& slot, const Metrics& metrics, uint32_t csv_k = 10)
      : slot_(slot), metrics_(metrics), csv_k_(csv_k) {}

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
  Started invocations(std::shared_ptr<const ServingModel> m, const HttpRequest& req, MediaType body,
                      MediaType reply) const;
  HttpReply similar(const ServingModel& m, std::string_view body) const;
  const ModelSlot& slot_;
  const Metrics& metrics_;
  uint32_t csv_k_;
};

}  // namespace vidrec
