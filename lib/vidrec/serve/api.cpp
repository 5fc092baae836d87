// SPDX-License-Identifier: MIT
#include "vidrec/serve/api.hpp"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "vidrec/als/solver.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/explain/explain.hpp"
#include "vidrec/recommend/recommend.hpp"

namespace vidrec {

std::string error_body(std::string_view message) {
  return nlohmann::json{{"error", std::string(message)}}.dump(-1, ' ', false,
                                                              nlohmann::json::error_handler_t::replace) +
         "\n";
}

namespace {

HttpReply error_reply(int status, std::string_view message) {
  return {status, error_body(message), "application/json", ""};
}

// The sorted union of two ascending lists.
std::vector<uint32_t> merge_seen(std::vector<uint32_t> a, const uint32_t* b, const uint32_t* b_end) {
  std::vector<uint32_t> out;
  out.reserve(a.size() + size_t(b_end - b));
  std::set_union(a.begin(), a.end(), b, b_end, std::back_inserter(out));
  return out;
}

// The recommendations' "because" lists, from the system their user's
// factors solve: the history's when there is one, else the stored user's.
void explain(const ServingModel& sm, const Invocation& inv, const std::vector<uint32_t>& videos,
             const std::vector<double>& weights, Recommendations& r) {
  if (!inv.explain || r.source != Source::Model || r.items.empty()) return;
  const Model& m = sm.model();
  if (videos.empty()) return explain_stored(m, sm.folding(), r, inv.explain_n);
  const std::vector<double> w = weigh_history(m, sm.folding(), videos, weights);
  Explainer(m, user_system(m, sm.folding(), videos.data(), w.data(), w.size())).explain(r, inv.explain_n);
}

}  // namespace

Recommendations answer_invocation(const ServingModel& sm, const Invocation& inv) {
  const Model& m = sm.model();
  RecommendOptions opt;
  opt.k = inv.k;
  opt.include_seen = inv.include_seen;
  opt.threads = 1;  // requests already run on many threads
  opt.location = inv.location;
  opt.ef = inv.ef;
  if (!inv.exclude.empty()) {
    size_t unknown = 0;  // videos the model does not know can never be recommended anyway
    opt.blocked = block_map(m, &inv.exclude, nullptr, unknown);
  }
  std::vector<uint8_t> blocked = opt.blocked;
  const Recommender rec(m, std::move(opt));
  std::vector<uint32_t> videos;
  std::vector<double> weights;
  const auto known = [&] {
    Recommendations r = rec.for_user(inv.user_id);
    explain(sm, inv, {}, {}, r);
    return r;
  };
  if (!inv.has_history) return known();

  // The history as one CSR row: known videos ascending, repeated ones summed.
  std::vector<std::pair<uint32_t, double>> pairs;
  for (const HistoryItem& h : inv.history)
    if (const auto v = sm.find_video(h.video_id)) pairs.emplace_back(*v, h.value);
  history_row(std::move(pairs), videos, weights);
  // Nothing usable in the history: what the user would get without one.
  if (std::none_of(weights.begin(), weights.end(), [](double w) { return w > 0; })) return known();
  Exclusion ex;
  ex.blocked = blocked.empty() ? nullptr : blocked.data();
  std::vector<uint32_t> seen;
  if (!inv.include_seen) {
    const auto user = sm.find_user(inv.user_id);
    seen = user ? merge_seen(videos, m.seen_begin(*user), m.seen_end(*user)) : videos;
    ex.seen_begin = seen.data();
    ex.seen_end = seen.data() + seen.size();
  }
  Recommendations r;
  r.id = inv.user_id;
  r.items = sm.fold_in(videos, weights, ex, inv.k, inv.ef);
  explain(sm, inv, videos, weights, r);
  return r;
}

struct Api::Deferred {
  std::shared_ptr<const ServingModel> model;
  bool batch = false;
  MediaType reply = MediaType::Json;
  std::vector<Invocation> invs;
  std::vector<Recommendations> results;
  std::vector<ScoringJob> jobs;
  std::vector<size_t> job_of;                 // the invocation of each job
  std::vector<std::vector<uint8_t>> blocked;  // the jobs' exclusions point into these
};

void Api::DeferredDeleter::operator()(Deferred* d) const { delete d; }
std::vector<ScoringJob>& Api::jobs(Deferred& d) { return d.jobs; }

Api::Started Api::invocations(std::shared_ptr<const ServingModel> model, const HttpRequest& req,
                              MediaType body, MediaType reply) const {
  std::unique_ptr<Deferred, DeferredDeleter> d(new Deferred);
  d->reply = reply;
  d->batch = body != MediaType::Json;  // a line body answers as a batch
  if (body == MediaType::Json)
    d->invs = parse_invocations(req.body, d->batch);
  else if (body == MediaType::JsonLines)
    d->invs = parse_jsonlines(req.body);
  else
    d->invs = parse_csv_users(req.body, req.k ? parse_k_text(*req.k) : csv_k_);
  d->model = std::move(model);
  const ServingModel& m = *d->model;
  d->results.resize(d->invs.size());
  d->blocked.reserve(d->invs.size());
  d->jobs.reserve(d->invs.size());
  // Known users with a profile and without a history become jobs for the
  // caller to score; the rest are answered here.
  for (size_t i = 0; i < d->invs.size(); ++i) {
    const Invocation& inv = d->invs[i];
    const auto u = inv.has_history ? std::nullopt : m.find_user(inv.user_id);
    if (!u || !m.model().has_profile(*u) || inv.explain) {
      d->results[i] = answer_invocation(m, inv);
      continue;
    }
    ScoringJob& job = d->jobs.emplace_back();
    job.model = &m;
    job.query = m.model().user_vector(*u);
    job.k = inv.k;
    job.ef = inv.ef;
    if (!inv.exclude.empty()) {
      size_t unknown = 0;
      job.exclusion.blocked =
          d->blocked.emplace_back(block_map(m.model(), &inv.exclude, nullptr, unknown)).data();
    }
    if (!inv.include_seen) std::tie(job.exclusion.seen_begin, job.exclusion.seen_end) = m.model().seen(*u);
    d->job_of.push_back(i);
  }
  Started s;
  if (d->jobs.empty())
    s.reply = finish(*d);
  else
    s.deferred = std::move(d);
  return s;
}

HttpReply Api::finish(Deferred& d) const {
  try {
    for (size_t j = 0; j < d.jobs.size(); ++j) {
      if (d.jobs[j].failed) return error_reply(503, "out of memory");
      d.results[d.job_of[j]].id = d.invs[d.job_of[j]].user_id;
      d.results[d.job_of[j]].items = std::move(d.jobs[j].result);
    }
    const Format format = d.reply == MediaType::Json        ? Format::Json
                          : d.reply == MediaType::JsonLines ? Format::Jsonl
                                                            : Format::Csv;
    const bool because =
        std::any_of(d.invs.begin(), d.invs.end(), [](const Invocation& inv) { return inv.explain; });
    // Written straight into the reply's body.
    HttpReply reply{200, {}, "application/json", ""};
    const bool predictions = d.reply == MediaType::Json && d.batch;
    if (predictions) reply.body = "{\"predictions\":";
    ResultWriter writer(reply.body, format, ResultWriter::Kind::Recommend, d.model->model(), d.batch, because);
    for (const Recommendations& r : d.results) writer.write(r);
    writer.finish();
    if (d.reply == MediaType::Csv) reply.content_type = "text/csv; charset=utf-8";
    if (d.reply == MediaType::JsonLines) reply.content_type = "application/jsonlines";
    if (predictions) {
      reply.body.pop_back();  // the array's newline
      reply.body += "}\n";
    }
    return reply;
  } catch (const std::bad_alloc&) {
    return error_reply(503, "out of memory");
  } catch (const std::exception& e) {
    return error_reply(500, e.what());
  }
}

HttpReply Api::similar(const ServingModel& m, std::string_view body) const {
  SimilarRequest q = parse_similar(body);
  const bool users = q.users;
  RecommendOptions opt;
  if (q.k) opt.k = *q.k;
  if (q.ef) opt.ef = *q.ef;
  if (q.exclude) {
    size_t unknown = 0;
    opt.blocked = block_map(m.model(), &*q.exclude, nullptr, unknown);
  }
  const std::string& name = q.id;
  const auto index = users ? m.find_user(name) : m.find_video(name);
  if (!index) return error_reply(404, (users ? "user '" : "video '") + name + "' is not in the model");
  const Recommender rec(m.model(), std::move(opt));
  Recommendations r;
  r.id = name;
  r.items = users ? rec.similar_users(*index) : rec.similar(*index);
  HttpReply reply{200, {}, "application/json", ""};
  ResultWriter writer(reply.body, Format::Json,
                      users ? ResultWriter::Kind::SimilarUsers : ResultWriter::Kind::Similar, m.model(),
                      false);
  writer.write(r);
  writer.finish();
  return reply;
}

Api::Started Api::start(const HttpRequest& req) const {
  const auto reply = [](HttpReply r) {
    Started s;
    s.reply = std::move(r);
    return s;
  };
  try {
    const Metrics::Endpoint e = Metrics::endpoint_of(req.path);
    if (e == Metrics::Other) return reply(error_reply(404, "no such endpoint: " + std::string(req.path)));
    const bool post = e == Metrics::Invocations || e == Metrics::Similar;
    const bool method_ok = post ? req.method == "POST" : req.method == "GET" || req.method == "HEAD";
    if (!method_ok) {
      HttpReply r = error_reply(405, std::string(req.method) + " is not allowed on " + std::string(req.path) +
                                         "; use " + (post ? "POST" : "GET"));
      r.allow = post ? "POST" : "GET, HEAD";
      return reply(std::move(r));
    }
    std::shared_ptr<const ServingModel> model = slot_.get();
    if (e == Metrics::MetricsPage)
      return reply({200, metrics_.render(model.get()), "text/plain; version=0.0.4; charset=utf-8", ""});
    if (!model) return reply(error_reply(503, "no model loaded yet"));
    if (e == Metrics::Ping) return reply({200, "{\"status\":\"ok\"}\n", "application/json", ""});
    const bool lines_too = e == Metrics::Invocations;
    const std::optional<MediaType> body = request_type(req.content_type);
    if (!body || (!lines_too && *body != MediaType::Json))
      return reply(error_reply(415, std::string("Content-Type must be application/json") +
                                        (lines_too ? ", application/jsonlines or text/csv" : "") + ", got '" +
                                        std::string(req.content_type) + "'"));
    const std::optional<MediaType> answer =
        lines_too ? reply_type(req.accept, {MediaType::Json, MediaType::JsonLines, MediaType::Csv})
                  : reply_type(req.accept, {MediaType::Json});
    if (!answer)
      return reply(error_reply(
          406, "cannot answer in any type Accept allows ('" + std::string(req.accept.substr(0, 200)) +
                   "'); " + std::string(req.path) + " answers " +
                   (lines_too ? "application/json, application/jsonlines or text/csv" : "application/json")));
    return lines_too ? invocations(std::move(model), req, *body, *answer) : reply(similar(*model, req.body));
  } catch (const InputError& e) {
    return reply(error_reply(400, e.what()));
  } catch (const std::bad_alloc&) {
    return reply(error_reply(503, "out of memory"));
  } catch (const std::exception& e) {
    return reply(error_reply(500, e.what()));
  }
}

HttpReply Api::handle(const HttpRequest& req) const {
  Started s = start(req);
  if (!s.deferred) return std::move(s.reply);
  std::vector<ScoringJob*> j;
  for (ScoringJob& job : jobs(*s.deferred)) j.push_back(&job);
  score_jobs(j.data(), j.size());
  return finish(*s.deferred);
}

}  // namespace vidrec
