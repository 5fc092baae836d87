// SPDX-License-Identifier: MIT
#include "vidrec/serve/api.hpp"

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "vidrec/als/solver.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/recommend/recommend.hpp"

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
  std::shared_ptr<ServingModel> m(new ServingModel(Model::open(path, Model::Verify::Full)));
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

// ---- request parsing ------------------------------------------------------

namespace {

uint32_t parse_k(const nlohmann::json& j, const std::string& where) {
  const std::string rule = where + "k must be an integer between 1 and " + std::to_string(kMaxK);
  if (!j.is_number_integer()) throw InputError(rule + ", got " + j.dump());
  const bool ok = j.is_number_unsigned() ? j.get<uint64_t>() >= 1 && j.get<uint64_t>() <= kMaxK
                                         : j.get<int64_t>() >= 1 && j.get<int64_t>() <= kMaxK;
  if (!ok) throw InputError(rule + ", got " + j.dump());
  return uint32_t(j.get<uint64_t>());
}

std::vector<std::string> parse_ids(const nlohmann::json& j, const std::string& field) {
  if (!j.is_array()) throw InputError(field + " must be an array of video id strings");
  std::vector<std::string> ids;
  ids.reserve(j.size());
  for (const auto& e : j) {
    if (!e.is_string()) throw InputError(field + " must be an array of video id strings, found " + e.dump());
    ids.push_back(e.get<std::string>());
  }
  return ids;
}

std::vector<HistoryItem> parse_history(const nlohmann::json& j, const std::string& field) {
  if (!j.is_array()) throw InputError(field + " must be an array of {\"videoId\":...,\"value\":...} objects");
  std::vector<HistoryItem> items;
  items.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string at = field + "[" + std::to_string(i) + "]";
    const nlohmann::json& e = j[i];
    if (!e.is_object()) throw InputError(at + " must be an object with a string videoId");
    const auto id = e.find("videoId");
    if (id == e.end() || !id->is_string()) throw InputError(at + ".videoId is required (a string)");
    HistoryItem h{id->get<std::string>(), 1.0};
    if (const auto v = e.find("value"); v != e.end()) {
      if (!v->is_number() || !std::isfinite(v->get<double>()))
        throw InputError(at + ".value must be a finite number, got " + v->dump());
      h.value = v->get<double>();
    }
    items.push_back(std::move(h));
  }
  return items;
}

}  // namespace

Invocation parse_invocation(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw InputError((where.empty() ? "the request" : where) + " must be a JSON object");
  Invocation inv;
  const auto user = j.find("user_id");
  if (user == j.end() || !user->is_string()) throw InputError(where + "user_id is required (a string)");
  inv.user_id = user->get<std::string>();
  if (inv.user_id.empty()) throw InputError(where + "user_id must not be empty");
  if (const auto k = j.find("k"); k != j.end()) inv.k = parse_k(*k, where);
  if (const auto s = j.find("include_seen"); s != j.end()) {
    if (!s->is_boolean()) throw InputError(where + "include_seen must be true or false, got " + s->dump());
    inv.include_seen = s->get<bool>();
  }
  if (const auto e = j.find("exclude"); e != j.end()) inv.exclude = parse_ids(*e, where + "exclude");
  if (const auto h = j.find("history"); h != j.end()) {
    inv.history = parse_history(*h, where + "history");
    inv.has_history = true;
  }
  return inv;
}

std::vector<Invocation> parse_invocations(std::string_view body, bool& batch) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body.begin(), body.end());
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(std::string("malformed JSON: ") + e.what());
  }
  batch = j.is_object() && j.contains("instances");
  if (!batch) return {parse_invocation(j)};
  const nlohmann::json& list = j["instances"];
  if (!list.is_array()) throw InputError("instances must be an array of request objects");
  if (list.size() > kMaxInstances)
    throw InputError("instances must hold at most " + std::to_string(kMaxInstances) + " requests, got " +
                     std::to_string(list.size()));
  std::vector<Invocation> out;
  out.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i)
    out.push_back(parse_invocation(list[i], "instances[" + std::to_string(i) + "]."));
  return out;
}

// ---- metrics --------------------------------------------------------------

Metrics::Endpoint Metrics::endpoint_of(std::string_view path) {
  if (path == "/ping") return Ping;
  if (path == "/invocations") return Invocations;
  if (path == "/similar") return Similar;
  if (path == "/metrics") return MetricsPage;
  return Other;
}

void Metrics::observe(Endpoint e, int status, double seconds) {
  const int s = std::clamp(status, kMinStatus, kMinStatus + kStatuses - 1) - kMinStatus;
  requests_[e][size_t(s)].fetch_add(1, std::memory_order_relaxed);
  const size_t b = size_t(std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds) - kBuckets.begin());
  buckets_[e][b].fetch_add(1, std::memory_order_relaxed);
  sum_ns_[e].fetch_add(uint64_t(std::max(0.0, seconds) * 1e9), std::memory_order_relaxed);
}

std::string Metrics::render(const ServingModel* model) const {
  static const char* const names[kEndpoints] = {"/ping", "/invocations", "/similar", "/metrics", "other"};
  std::string o;
  char line[512];
  auto add = [&](const char* fmt, auto... args) {
    std::snprintf(line, sizeof line, fmt, args...);
    o += line;
  };
  o += "# HELP vidrec_requests_total Requests answered, by endpoint and HTTP status.\n"
       "# TYPE vidrec_requests_total counter\n";
  std::array<uint64_t, kEndpoints> errors{};
  for (int e = 0; e < kEndpoints; ++e)
    for (int s = 0; s < kStatuses; ++s)
      if (const uint64_t n = requests_[size_t(e)][size_t(s)].load(std::memory_order_relaxed)) {
        add("vidrec_requests_total{endpoint=\"%s\",status=\"%d\"} %" PRIu64 "\n", names[e], s + kMinStatus,
            n);
        if (s + kMinStatus >= 400) errors[size_t(e)] += n;
      }
  o += "# HELP vidrec_request_errors_total Requests answered with a status >= 400, by endpoint.\n"
       "# TYPE vidrec_request_errors_total counter\n";
  for (int e = 0; e < kEndpoints; ++e)
    add("vidrec_request_errors_total{endpoint=\"%s\"} %" PRIu64 "\n", names[e], errors[size_t(e)]);
  o += "# HELP vidrec_request_duration_seconds Time from the request read to the reply written.\n"
       "# TYPE vidrec_request_duration_seconds histogram\n";
  for (int e = 0; e < kEndpoints; ++e) {
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= kBuckets.size(); ++b) {
      cumulative += buckets_[size_t(e)][b].load(std::memory_order_relaxed);
      if (b < kBuckets.size())
        add("vidrec_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%g\"} %" PRIu64 "\n", names[e],
            kBuckets[b], cumulative);
      else
        add("vidrec_request_duration_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"} %" PRIu64 "\n", names[e],
            cumulative);
    }
    add("vidrec_request_duration_seconds_sum{endpoint=\"%s\"} %.9f\n", names[e],
        double(sum_ns_[size_t(e)].load(std::memory_order_relaxed)) / 1e9);
    add("vidrec_request_duration_seconds_count{endpoint=\"%s\"} %" PRIu64 "\n", names[e], cumulative);
  }
  o += "# HELP vidrec_model_loads_total Models loaded (the first and every reload).\n"
       "# TYPE vidrec_model_loads_total counter\n";
  add("vidrec_model_loads_total %" PRIu64 "\n", reloads_.load());
  o += "# HELP vidrec_model_load_failures_total Models refused (unreadable or corrupt); the old one kept "
       "serving.\n"
       "# TYPE vidrec_model_load_failures_total counter\n";
  add("vidrec_model_load_failures_total %" PRIu64 "\n", refusals_.load());
  o += "# HELP vidrec_model_loaded 1 when a model is being served.\n# TYPE vidrec_model_loaded gauge\n";
  add("vidrec_model_loaded %d\n", model ? 1 : 0);
  if (model) {
    const Model& m = model->model();
    o += "# HELP vidrec_model_info The model being served (checksums identify the file and its factors).\n"
         "# TYPE vidrec_model_info gauge\n";
    add("vidrec_model_info{header_checksum=\"%016" PRIx64 "\",factors_checksum=\"%016" PRIx64
        "\",format_version=\"%u\",factors=\"%u\",users=\"%u\",videos=\"%u\"} 1\n",
        m.header_checksum(), m.factors_checksum(), m.format_version(), m.factors(), m.n_users(),
        m.n_videos());
    o += "# HELP vidrec_model_load_timestamp_seconds When the model being served was loaded (Unix time).\n"
         "# TYPE vidrec_model_load_timestamp_seconds gauge\n";
    add("vidrec_model_load_timestamp_seconds %.3f\n",
        std::chrono::duration<double>(model->loaded_at().time_since_epoch()).count());
    o += "# HELP vidrec_model_load_duration_seconds Time to open and verify the model being served.\n"
         "# TYPE vidrec_model_load_duration_seconds gauge\n";
    add("vidrec_model_load_duration_seconds %.6f\n", model->load_seconds());
  }
  return o;
}

// ---- the endpoints --------------------------------------------------------

std::string error_body(std::string_view message) {
  return nlohmann::json{{"error", std::string(message)}}.dump(-1, ' ', false,
                                                              nlohmann::json::error_handler_t::replace) +
         "\n";
}

namespace {

HttpReply error_reply(int status, std::string_view message) {
  return {status, error_body(message), "application/json", ""};
}

// "application/json", any case, with or without parameters such as charset.
bool is_json(std::string_view content_type) {
  const std::string_view type = content_type.substr(0, content_type.find(';'));
  std::string t;
  for (char c : type)
    if (!std::isspace(static_cast<unsigned char>(c))) t += char(std::tolower(static_cast<unsigned char>(c)));
  return t == "application/json";
}

// The sorted union of two ascending lists.
std::vector<uint32_t> merge_seen(std::vector<uint32_t> a, const uint32_t* b, const uint32_t* b_end) {
  std::vector<uint32_t> out;
  out.reserve(a.size() + size_t(b_end - b));
  std::set_union(a.begin(), a.end(), b, b_end, std::back_inserter(out));
  return out;
}

Recommendations answer(const ServingModel& sm, const Invocation& inv) {
  const Model& m = sm.model();
  RecommendOptions opt;
  opt.k = inv.k;
  opt.include_seen = inv.include_seen;
  opt.threads = 1;  // requests already run on many threads
  if (!inv.exclude.empty()) {
    size_t unknown = 0;  // videos the model does not know can never be recommended anyway
    opt.blocked = block_map(m, &inv.exclude, nullptr, unknown);
  }
  std::vector<uint8_t> blocked = opt.blocked;
  const Recommender rec(m, std::move(opt));
  if (!inv.has_history) return rec.for_user(inv.user_id);

  // The history as one CSR row: known videos ascending, repeated ones summed.
  std::vector<std::pair<uint32_t, double>> pairs;
  for (const HistoryItem& h : inv.history)
    if (const auto v = sm.find_video(h.video_id)) pairs.emplace_back(*v, h.value);
  std::sort(pairs.begin(), pairs.end());
  std::vector<uint32_t> videos;
  std::vector<float> weights;
  for (const auto& [v, w] : pairs) {
    if (!videos.empty() && videos.back() == v) {
      weights.back() += float(w);
    } else {
      videos.push_back(v);
      weights.push_back(float(w));
    }
  }
  // Nothing usable in the history: what the user would get without one.
  if (std::none_of(weights.begin(), weights.end(), [](float w) { return w > 0; }))
    return rec.for_user(inv.user_id);
  Exclusion ex;
  ex.blocked = blocked.empty() ? nullptr : blocked.data();
  std::vector<uint32_t> seen;
  if (!inv.include_seen) {
    const auto known = sm.find_user(inv.user_id);
    seen = known ? merge_seen(videos, m.seen_begin(*known), m.seen_end(*known)) : videos;
    ex.seen_begin = seen.data();
    ex.seen_end = seen.data() + seen.size();
  }
  Recommendations r;
  r.id = inv.user_id;
  r.items = sm.fold_in(videos, weights, ex, inv.k);
  return r;
}

}  // namespace

struct Api::Deferred {
  std::shared_ptr<const ServingModel> model;
  bool batch = false;
  std::vector<Invocation> invs;
  std::vector<Recommendations> results;
  std::vector<ScoringJob> jobs;
  std::vector<size_t> job_of;                 // the invocation of each job
  std::vector<std::vector<uint8_t>> blocked;  // the jobs' exclusions point into these
};

void Api::DeferredDeleter::operator()(Deferred* d) const { delete d; }
std::vector<ScoringJob>& Api::jobs(Deferred& d) { return d.jobs; }

Api::Started Api::invocations(std::shared_ptr<const ServingModel> model, std::string_view body) const {
  std::unique_ptr<Deferred, DeferredDeleter> d(new Deferred);
  d->invs = parse_invocations(body, d->batch);
  d->model = std::move(model);
  const ServingModel& m = *d->model;
  d->results.resize(d->invs.size());
  d->blocked.reserve(d->invs.size());
  d->jobs.reserve(d->invs.size());
  // Known users without a history become jobs for the caller to score; the
  // rest are answered here.
  for (size_t i = 0; i < d->invs.size(); ++i) {
    const Invocation& inv = d->invs[i];
    const auto u = inv.has_history ? std::nullopt : m.find_user(inv.user_id);
    if (!u) {
      d->results[i] = answer(m, inv);
      continue;
    }
    ScoringJob& job = d->jobs.emplace_back();
    job.model = &m;
    job.query = m.model().user_vector(*u);
    job.k = inv.k;
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
    std::ostringstream out;
    ResultWriter writer(out, Format::Json, ResultWriter::Kind::Recommend, d.model->model(), d.batch);
    for (const Recommendations& r : d.results) writer.write(r);
    writer.finish();
    if (!d.batch) return {200, out.str(), "application/json", ""};
    std::string list = out.str();
    list.pop_back();  // the array's newline
    return {200, "{\"predictions\":" + list + "}\n", "application/json", ""};
  } catch (const std::bad_alloc&) {
    return error_reply(503, "out of memory");
  } catch (const std::exception& e) {
    return error_reply(500, e.what());
  }
}

HttpReply Api::similar(const ServingModel& m, std::string_view body) const {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body.begin(), body.end());
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(std::string("malformed JSON: ") + e.what());
  }
  if (!j.is_object()) throw InputError("the request must be a JSON object");
  const auto id = j.find("video_id");
  if (id == j.end() || !id->is_string()) throw InputError("video_id is required (a string)");
  RecommendOptions opt;
  if (const auto k = j.find("k"); k != j.end()) opt.k = parse_k(*k, "");
  if (const auto e = j.find("exclude"); e != j.end()) {
    const std::vector<std::string> exclude = parse_ids(*e, "exclude");
    size_t unknown = 0;
    opt.blocked = block_map(m.model(), &exclude, nullptr, unknown);
  }
  const std::string video = id->get<std::string>();
  const auto v = m.find_video(video);
  if (!v) return error_reply(404, "video '" + video + "' is not in the model");
  const Recommender rec(m.model(), std::move(opt));
  Recommendations r;
  r.id = video;
  r.items = rec.similar(*v);
  std::ostringstream out;
  ResultWriter writer(out, Format::Json, ResultWriter::Kind::Similar, m.model(), false);
  writer.write(r);
  writer.finish();
  return {200, out.str(), "application/json", ""};
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
    if (!is_json(req.content_type))
      return reply(error_reply(
          415, "Content-Type must be application/json, got '" + std::string(req.content_type) + "'"));
    return e == Metrics::Invocations ? invocations(std::move(model), req.body)
                                     : reply(similar(*model, req.body));
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
