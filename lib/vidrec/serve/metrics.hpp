// SPDX-License-Identifier: MIT
// What `vidrec serve` reports at /metrics: requests by endpoint and status,
// latency histograms, model reloads and refusals, and the served model.
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

}  // namespace vidrec
