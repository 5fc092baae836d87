// SPDX-License-Identifier: MIT
// Features: validated rows -> one entry per (user, video) -> the dataset's
// entries in CSR order, streamed into a DatasetWriter (prepare) or collected
// into a DatasetData (finish()).
//
// Contract
// - Per pair: summed weight, number of events, first and last timestamp.
// - Memory grows with distinct users, videos and pairs, never with rows.
// - Weights are summed exactly (base/exact_sum.hpp, within its bound: the
//   sum of a pair's |weights| below 2^48 times the smallest nonzero one,
//   rounded down to a power of two), so the sum does not depend on the
//   rows' order, and stored as float32 rounded once from the exact sum. A
//   pair whose exact sum is beyond float32's range (each row is within it;
//   see csv.cpp) is dropped and counted (PruneStats::overflow_*), never
//   stored as inf. Users and videos left without a pair are dropped with it
//   (counted as pruned).
// - Optional pruning drops users with fewer than min_user_events events and
//   videos with fewer than min_video_events, repeated until nothing changes
//   (dropping a video can push a user under the bar, and back).
// - Output ids are sorted (see dataset.hpp), so the result does not depend on
//   the order the rows arrived in.
// - Each user's location is chosen as locations.hpp says; negative weights
//   are summed like any other (a pair whose sum is <= 0 is still a pair).
#pragma once
#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "vidrec/base/exact_sum.hpp"
#include "vidrec/dataset/dataset.hpp"
#include "vidrec/ingest/ingest.hpp"
#include "vidrec/ingest/interner.hpp"

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

// Prunes to a fixed point: a round recounts events over the pairs whose user
// and video are both alive, then drops users and videos under the bar.
// `for_each_pair(visit)` calls visit(user, video, events) for every pair.
// Returns the rounds that dropped something.
template <class ForEachPair>
uint32_t prune_to_fixed_point(const PruneOptions& prune, std::vector<char>& user_alive,
                              std::vector<char>& video_alive, ForEachPair&& for_each_pair) {
  if (prune.min_user_events <= 1 && prune.min_video_events <= 1) return 0;
  std::vector<uint64_t> ue(user_alive.size()), ve(video_alive.size());
  for (uint32_t rounds = 0;; ++rounds) {
    std::fill(ue.begin(), ue.end(), 0);
    std::fill(ve.begin(), ve.end(), 0);
    for_each_pair([&](uint64_t u, uint64_t v, uint64_t events) {
      if (user_alive[u] && video_alive[v]) {
        ue[u] += events;
        ve[v] += events;
      }
    });
    bool changed = false;
    for (size_t u = 0; u < ue.size(); ++u)
      if (user_alive[u] && ue[u] < prune.min_user_events) user_alive[u] = 0, changed = true;
    for (size_t v = 0; v < ve.size(); ++v)
      if (video_alive[v] && ve[v] < prune.min_video_events) video_alive[v] = 0, changed = true;
    if (!changed) return rounds;
  }
}

// Entries gathered into blocks small enough to stay in cache on their way to
// the sink (a DatasetWriter); the weight is stored as float32 here.
// `pipelined`: the sink runs on a thread of its own, a block behind push(),
// so the writing (checksums, the transpose, the copy into the file) overlaps
// the sorting that makes the entries. Either way the sink sees the blocks one
// at a time and in order; what it throws, push() or flush() rethrows.
class EntryBlocks {
 public:
  explicit EntryBlocks(const std::function<void(const EntryBlock&)>& sink, bool pipelined = false);
  ~EntryBlocks();
  EntryBlocks(const EntryBlocks&) = delete;
  EntryBlocks& operator=(const EntryBlocks&) = delete;
  void push(uint32_t video, const ExactSum& weight, uint32_t events, int64_t first, int64_t last) {
    Buffer& b = *fill_;
    b.indices[b.n] = video;
    b.weights[b.n] = to_float(weight);
    b.events[b.n] = events;
    b.first[b.n] = first;
    b.last[b.n] = last;
    if (++b.n == kBlock) hand_over();
  }
  // Hands over what is left and returns once the sink has taken every block.
  void flush();

 private:
  static constexpr size_t kBlock = size_t(1) << 14;
  struct Buffer {
    std::vector<uint32_t> indices = std::vector<uint32_t>(kBlock), events = std::vector<uint32_t>(kBlock);
    std::vector<float> weights = std::vector<float>(kBlock);
    std::vector<int64_t> first = std::vector<int64_t>(kBlock), last = std::vector<int64_t>(kBlock);
    size_t n = 0;
    bool full = false;  // handed to the sink's thread, not yet taken
    EntryBlock block() const {
      return {indices.data(), weights.data(), events.data(), first.data(), last.data(), n};
    }
  };
  void hand_over();
  void drain();  // the sink's thread

  const std::function<void(const EntryBlock&)>& sink_;
  Buffer buffers_[2];
  Buffer* fill_ = &buffers_[0];
  std::thread writer_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::exception_ptr error_;
};

// Rows keyed for an Aggregator (interner.hpp's IdKeys) away from it:
// prepare --threads keys them on its parsing threads, so a shard's lock
// covers only the lookups, and no row is copied as strings (short ids travel
// packed in their keys, long ones are copied here).
class KeyedRows {
 public:
  struct Keyed {
    IdKey user, video, location;
    double weight;
    int64_t ts;
    bool located;  // the row has a location
  };
  // user_hash: hash_id(row.user), which the caller chose a shard by.
  void add(const Row& row, double weight, uint64_t user_hash) {
    const bool located = !row.location.empty();
    rows_.push_back({Interner::key(row.user, text_, user_hash), Interner::key(row.video, text_),
                     located ? Interner::key(row.location, text_) : IdKey{}, weight, row.timestamp, located});
  }
  void add(const Row& row, double weight) { add(row, weight, hash_id(row.user)); }
  void clear() {  // capacity kept: fresh pages cost a fault and zeroing each
    rows_.clear();
    text_.clear();
  }
  size_t size() const { return rows_.size(); }
  const Keyed& operator[](size_t i) const { return rows_[i]; }
  const char* text() const { return text_.data(); }

 private:
  std::vector<Keyed> rows_;
  std::string text_;  // ids too long to pack
};

// What prepare --threads' shards take (spill.hpp): rows keyed elsewhere.
class KeyedSink {
 public:
  virtual ~KeyedSink() = default;
  virtual void add(const KeyedRows& rows) = 0;
};

class Aggregator : public RowSink {
 public:
  // `shards`: one of that many aggregators of disjoint users (prepare
  // --threads), which then share out the partitions of one (features.cpp),
  // so that each array is as large as one aggregator's would be.
  explicit Aggregator(size_t shards = 1);
  ~Aggregator() override;
  void add(const Row& row, double weight) override;
  // Rows [begin, end) of `rows`, as add() of each.
  void add(const KeyedRows& rows, size_t begin, size_t end);
  // What DatasetWriter needs before the entries.
  struct Shape {
    std::vector<std::string> user_ids, video_ids;  // ascending
    std::vector<uint64_t> indptr;                  // n_users + 1
    std::vector<uint64_t> video_counts;            // entries per video
    UserLocations locations;                       // of the users kept
  };
  // Ends the input: prunes (filling `stats`), numbers users and videos by id
  // and sizes every row and column. Once only. `others`: aggregators of
  // users none of this one's rows name (prepare --threads' shards), closed
  // with it as one aggregator given all their rows would be (the same
  // Shape, stats and entries), their last sorts on a thread each; emit()
  // then emits them too, and they must live until it has.
  const Shape& close(const PruneOptions& prune, PruneStats& stats, const std::vector<Aggregator*>& others = {});
  // After close(): the entries in CSR order, a block at a time (a block may
  // end inside a row). Consumes the aggregate (and the others closed with it).
  // `pipelined`: the sink on a thread of its own (EntryBlocks).
  void emit(const std::function<void(const EntryBlock&)>& sink, bool pipelined = false);
  // close() and emit() into memory.
  DatasetData finish(const PruneOptions& prune, PruneStats& stats);

  // Bytes held now, arrays counted by capacity, plus what close() or drain()
  // would add per id: what a memory budget (spill.hpp) compares against.
  uint64_t memory_bytes() const;
  uint64_t pairs() const;  // distinct pairs so far (rows still batched not counted)
  // A pair's sums as drain() hands them over.
  struct RawPair {
    std::string_view video;
    ExactSum weight;
    uint32_t events;
    int64_t first, last;
  };
  // A user's rows in one location, as drain() hands them over.
  struct RawLocation {
    std::string_view location;
    uint32_t rows;
  };
  // Instead of close(): every pair, overflowing ones included and nothing
  // pruned, in (user id, video id) byte order, one user's row per call,
  // with the user's row counts per location in location byte order.
  // Consumes the aggregate. What spill.hpp writes as sorted runs.
  void drain(const std::function<void(std::string_view user, const std::vector<RawPair>& row,
                                      const std::vector<RawLocation>& locations)>& sink);
  // drain()'s inverse: adds a user not seen before (a logic_error
  // otherwise), with its pairs (distinct videos) and rows per location, as
  // another Aggregator drained them. What folds the user-disjoint shards of
  // prepare --threads into one when some spilled (spill.hpp).
  void add_user(std::string_view user, const std::vector<RawPair>& row,
                const std::vector<RawLocation>& locations);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Sizes a Shape whose ids are set, pair by pair (both close() paths, in
// memory and spilled): entries per row and per video of the pairs whose user
// and video survive (new numbers; UINT32_MAX: dropped), and what pruning
// removed into `stats`.
class ShapeCounts {
 public:
  explicit ShapeCounts(Aggregator::Shape& shape) : shape_(shape) {
    shape.indptr.assign(shape.user_ids.size() + 1, 0);
    shape.video_counts.assign(shape.video_ids.size(), 0);
  }
  void add(uint32_t user, uint32_t video, uint32_t events) {
    ++pairs_;
    events_ += events;
    if (user != UINT32_MAX && video != UINT32_MAX) {
      ++shape_.indptr[user + 1];
      ++shape_.video_counts[video];
      kept_ += events;
    }
  }
  void finish(PruneStats& stats) {
    for (size_t u = 0; u + 1 < shape_.indptr.size(); ++u) shape_.indptr[u + 1] += shape_.indptr[u];
    stats.pairs_removed = pairs_ - shape_.indptr.back();
    stats.events_removed = events_ - kept_;
  }

 private:
  Aggregator::Shape& shape_;
  uint64_t pairs_ = 0, events_ = 0, kept_ = 0;
};

}  // namespace vidrec
