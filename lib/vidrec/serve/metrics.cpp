// SPDX-License-Identifier: MIT
#include "vidrec/serve/metrics.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

namespace vidrec {

Metrics::Endpoint Metrics::endpoint_of(std::string_view path) {
  if (path == "/ping") return Ping;
  if (path == "/invocations") return Invocations;
  if (path == "/similar") return Similar;
  if (path == "/metrics") return MetricsPage;
  if (const size_t q = path.find('?'); q != std::string_view::npos) return endpoint_of(path.substr(0, q));
  return Other;
}

namespace {
constexpr size_t status_index(int status, int min, int n) {
  return size_t(std::clamp(status, min, min + n - 1) - min);
}
}  // namespace

void Metrics::library_reply(int status) {
  library_[status_index(status, kMinStatus, kStatuses)].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::observe(Endpoint e, int status, double seconds) {
  const size_t s = status_index(status, kMinStatus, kStatuses);
  requests_[e][s].fetch_add(1, std::memory_order_relaxed);
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
  static const char* const reasons[kUnanswered] = {"timeout", "client_gone", "failed", "shutdown"};
  o += "# HELP vidrec_requests_unanswered_total Requests begun that got no reply, by endpoint and reason.\n"
       "# TYPE vidrec_requests_unanswered_total counter\n";
  for (int e = 0; e < kEndpoints; ++e)
    for (int r = 0; r < kUnanswered; ++r)
      add("vidrec_requests_unanswered_total{endpoint=\"%s\",reason=\"%s\"} %" PRIu64 "\n", names[e],
          reasons[r], unanswered_[size_t(e)][size_t(r)].load(std::memory_order_relaxed));
  o += "# HELP vidrec_library_replies_total Replies libmicrohttpd sent itself, by status (also in "
       "vidrec_requests_total when the request line was parsed).\n"
       "# TYPE vidrec_library_replies_total counter\n";
  for (int s = 0; s < kStatuses; ++s)
    if (const uint64_t n = library_[size_t(s)].load(std::memory_order_relaxed))
      add("vidrec_library_replies_total{status=\"%d\"} %" PRIu64 "\n", s + kMinStatus, n);
  o += "# HELP vidrec_connections_total Connections accepted.\n# TYPE vidrec_connections_total counter\n";
  add("vidrec_connections_total %" PRIu64 "\n", connections_.load(std::memory_order_relaxed));
  o += "# HELP vidrec_connections_without_request_total Connections closed before a request line was parsed "
       "(idle, timed out, or an unparsable request line).\n"
       "# TYPE vidrec_connections_without_request_total counter\n";
  add("vidrec_connections_without_request_total %" PRIu64 "\n", no_request_.load(std::memory_order_relaxed));
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

}  // namespace vidrec
