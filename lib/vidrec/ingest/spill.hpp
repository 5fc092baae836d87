// SPDX-License-Identifier: MIT
// Aggregation in bounded memory: the Aggregator (features.hpp) while it fits
// the budget, sorted runs on disk merged at the end when it does not.
//
// Contract
// - close() and emit() answer exactly what Aggregator's do on the same rows
//   (same Shape, PruneStats and entries, so prepare writes the same bytes),
//   whether or not anything was spilled: a pair's weight is summed exactly
//   per run and over the runs (base/exact_sum.hpp), for any weights whose
//   sum stays within its bound (sum of a pair's |weights| below 2^48 times
//   the smallest nonzero one, rounded down to a power of two; 0.1 and up:
//   2^44), so grouping the rows into runs changes no bit.
// - Memory during ingest: the aggregate (pairs and both id tables) stays
//   under `memory` minus one I/O buffer; when it would not, it is written as
//   one run, sorted by (user id, video id), and a fresh aggregate starts, so
//   neither the pairs nor the ids of a log of any size accumulate.
// - Merging holds one buffer per run (at most max_fan_in at once; more runs
//   are merged in passes) and writes the distinct pairs to one more file;
//   overflow, pruning and the CSR shape are computed by reading it again.
// - Each user's (location, rows) counts go to runs of their own, merged the
//   same way; the location chosen (locations.hpp) is the one Aggregator
//   chooses.
// - What the output phase holds whatever the budget, as the dataset needs it
//   before its entries: every id seen (user ids as strings, video ids and
//   locations in Interners), 8-byte counts and flags per id, a location per
//   user, the row pointers, and DatasetWriter's transpose (8 bytes per pair).
// - close() takes the other shards of prepare --threads (disjoint users):
//   they close and emit as one aggregator given all their rows would. While
//   all of them are in memory and within their budgets together, they are
//   closed side by side (features.hpp); otherwise they are folded into one
//   (runs joined, aggregates added user by user, spilling as add() does)
//   and merged from disk.
// - Runs live in a SpillDir under tmp_dir (io/spill_dir.hpp): removed on
//   success, on an exception and on SIGINT/SIGTERM. Write errors (a full
//   disk) are IoErrors naming the file.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vidrec/ingest/features.hpp"

namespace vidrec {

// Below this the Aggregator's fixed part (64 partitions' minimum buffers, the
// id tables' first slots) and the merge's buffers leave no room for pairs.
constexpr uint64_t kMinMemory = uint64_t(4) << 20;

struct SpillOptions {
  uint64_t memory = 0;     // bytes, >= kMinMemory
  std::string tmp_dir;     // where the SpillDir is made
  bool progress = true;
  size_t max_fan_in = 64;  // runs merged at once (tests lower it to force passes)
};

// "256M", "2G", "512K", "1048576" (powers of 1024): ConfigError naming the
// rule otherwise, or when below kMinMemory.
uint64_t parse_memory_size(const std::string& text);
// Half of physical memory, or of the cgroup's limit (v2 memory.max, v1
// memory.limit_in_bytes) when that is lower.
uint64_t default_memory_budget();

class SpillingAggregator : public RowSink, public KeyedSink {
 public:
  // Throws IoError when tmp_dir is not a writable directory (before the read).
  explicit SpillingAggregator(SpillOptions opt);
  ~SpillingAggregator() override;
  void add(const Row& row, double weight) override;
  void add(const KeyedRows& rows) override;  // as add() of each row
  // As Aggregator::close and Aggregator::emit; `others` as there (shards()
  // made them all; they must live until emit()).
  const Aggregator::Shape& close(const PruneOptions& prune, PruneStats& stats,
                                 const std::vector<SpillingAggregator*>& others = {});
  void emit(const std::function<void(const EntryBlock&)>& sink, bool pipelined = false);
  uint64_t runs() const;  // runs written so far (0: all in memory)
  // `n` aggregators for disjoint users (prepare --threads), each with an
  // n-th of opt.memory, spilling into one SpillDir.
  static std::vector<std::unique_ptr<SpillingAggregator>> shards(const SpillOptions& opt, size_t n);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vidrec
