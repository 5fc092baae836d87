// SPDX-License-Identifier: MIT
// What `vidrec serve` reports at /metrics: requests by endpoint and status
// (those libmicrohttpd answers itself included), requests ended without a
// reply by reason, connections, latency histograms, model reloads and
// refusals, and the served model.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "vidrec/serve/serving_model.hpp"

namespace vidrec {

// Counters and a latency histogram per endpoint, lock-free (many request
// threads update them), rendered in the Prometheus text format 0.0.4.
class Metrics {
 public:
  enum Endpoint { Ping, Invocations, Similar, MetricsPage, Other, kEndpoints };
  static Endpoint endpoint_of(std::string_view path);
  void observe(Endpoint e, int status, double seconds);
  // A request begun (its request line read) that got no reply.
  enum Unanswered { Timeout, ClientGone, Failed, Shutdown, kUnanswered };
  void unanswered(Endpoint e, Unanswered why) { unanswered_[e][why].fetch_add(1, std::memory_order_relaxed); }
  void connection_opened() { connections_.fetch_add(1, std::memory_order_relaxed); }
  // Closed before any request line was parsed: an idle connect, a timeout,
  // or a request line libmicrohttpd could not parse (it closes without a reply).
  void connection_without_request() { no_request_.fetch_add(1, std::memory_order_relaxed); }
  // A reply libmicrohttpd composed itself (malformed headers, 431, 505...).
  void library_reply(int status);
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
  std::array<std::array<std::atomic<uint64_t>, kUnanswered>, kEndpoints> unanswered_{};
  std::array<std::atomic<uint64_t>, kStatuses> library_{};
  std::atomic<uint64_t> reloads_{0}, refusals_{0}, connections_{0}, no_request_{0};
};

}  // namespace vidrec
