// SPDX-License-Identifier: MIT
// The row type that ingest produces and aggregation (features.hpp) consumes:
// the one thing the two sides share, so the line parser and the aggregator
// depend on it and not on each other.
#pragma once
#include <cstdint>
#include <string_view>

namespace vidrec {

// One validated row. Views point into parser-owned storage, valid until the
// next parse.
struct Row {
  std::string_view user, video, type, location;
  double value = 0;
  int64_t timestamp = 0;
};

// Receives every used row (valid, not ignored).
class RowSink {
 public:
  virtual ~RowSink() = default;
  virtual void add(const Row& row, double weight) = 0;
};

}  // namespace vidrec
