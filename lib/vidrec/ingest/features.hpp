// SPDX-License-Identifier: MIT
// Features: validated rows -> one entry per (user, video) -> the dataset's
// entries in CSR order, streamed into a DatasetWriter (prepare) or collected
// into a DatasetData (finish()).
//
// Contract
// - Per pair: summed weight, number of events, first and last timestamp.
// - Memory grows with distinct users, videos and pairs, never with rows.
// - Weights are summed in double and stored as float32: a pair whose sum is
//   beyond float32's range (each row is within it; see csv.cpp) is dropped and
//   counted (PruneStats::overflow_*), never stored as inf. Users and videos
//   left without a pair are dropped with it (counted as pruned).
// - Optional pruning drops users with fewer than min_user_events events and
//   videos with fewer than min_video_events, repeated until nothing changes
//   (dropping a video can push a user under the bar, and back).
// - Output ids are sorted (see dataset.hpp), so the result does not depend on
//   the order the rows arrived in.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vidrec/dataset/dataset.hpp"
#include "vidrec/ingest/ingest.hpp"

namespace vidrec {

struct PruneOptions {
  uint64_t min_user_events = 0;
  uint64_t min_video_events = 0;
};

struct PruneStats {
  uint32_t rounds = 0;
  uint64_t users_removed = 0;
  uint64_t videos_removed = 0;
  uint64_t pairs_removed = 0;
  uint64_t events_removed = 0;
  uint64_t overflow_pairs = 0;   // dropped: summed weight beyond float32
  uint64_t overflow_events = 0;  // the rows those pairs held
};

class Aggregator : public RowSink {
 public:
  Aggregator();
  ~Aggregator() override;
  void add(const Row& row, double weight) override;
  // What DatasetWriter needs before the entries.
  struct Shape {
    std::vector<std::string> user_ids, video_ids;  // ascending
    std::vector<uint64_t> indptr;                  // n_users + 1
    std::vector<uint64_t> video_counts;            // entries per video
  };
  // Ends the input: prunes (filling `stats`), numbers users and videos by id
  // and sizes every row and column. Once only.
  const Shape& close(const PruneOptions& prune, PruneStats& stats);
  // After close(): the entries in CSR order, a block at a time (a block may
  // end inside a row). Consumes the aggregate.
  void emit(const std::function<void(const EntryBlock&)>& sink);
  // close() and emit() into memory.
  DatasetData finish(const PruneOptions& prune, PruneStats& stats);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vidrec
