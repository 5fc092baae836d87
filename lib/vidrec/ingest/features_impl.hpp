// SPDX-License-Identifier: MIT
// The Aggregator's state (features.hpp), shared by its two halves:
// features.cpp takes the rows in (and drains them for spill.hpp),
// features_out.cpp closes and emits them, one aggregator or several shards
// of disjoint users as one. Not a public interface: only those two include it.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "vidrec/base/exact_sum.hpp"
#include "vidrec/base/huge_pages.hpp"
#include "vidrec/ingest/features.hpp"
#include "vidrec/ingest/interner.hpp"
#include "vidrec/ingest/locations.hpp"

namespace vidrec {

namespace aggregation {

// Pair keys are (user << 32 | video) in first-seen numbering.
inline uint64_t user_of(uint64_t key) { return key >> 32; }
inline uint64_t video_of(uint64_t key) { return key & 0xffffffff; }

struct Event {
  uint64_t key;
  double weight;
  int64_t ts;
};

struct Pair {
  uint64_t key;
  ExactSum weight;  // exact: the same bits whatever the order the buffers flush in
  int64_t first, last;
  uint32_t events;
};

// Bits needed to number n things.
inline int bits_for(size_t n) {
  int b = 0;
  while ((size_t(1) << b) < n) ++b;
  return b;
}

// Sorts a row's entries (video << 32 | position, videos distinct) by video
// (features.cpp).
void sort_row(std::vector<uint64_t>& row, std::vector<uint64_t>& tmp, int bits);

// Events are spread over partitions by user number, and each partition
// sorts and merges its own events: a partition's buffer and pairs stay in
// cache while it is merged, where one global sorted array of pairs (tried
// first) streamed all of them through memory at every flush. 64 partitions
// rather than 256: on 10M rows their arrays outgrow 2 MiB and get huge pages
// (page faults 94k -> 66k, 0.92x the time in paired runs). The shards of
// prepare --threads share the 64 out: with 64 each, 2 shards' arrays
// crossed 2 MiB only in the last flush, each then copied into a fresh
// mapping (0.6 s more of page faults on the 454 MB log).
constexpr int kPartitionBits = 6;
constexpr size_t kMinBuffer = 1024;

}  // namespace aggregation

struct Aggregator::Impl {
  using Event = aggregation::Event;
  using Pair = aggregation::Pair;
  Interner users, videos, locations;
  LocationCounts location_rows;
  // Rows waiting for their ids, interner slots prefetched. Two batches
  // alternate, and a batch is resolved only once the next one has filled, so
  // every row's prefetch has had kBatch rows' time to land.
  static constexpr size_t kBatch = 32;
  KeyedRows batches[2];
  std::vector<std::pair<uint32_t, uint32_t>> located;  // (user, location) of the batch resolving
  int filling = 0;
  struct Partition {
    GrowArray<Event> buffer;
    GrowArray<Pair> pairs;  // sorted by key, unique
  };
  int partition_bits;
  std::vector<Partition> parts;
  GrowArray<Event> scratch;  // shared by the partitions' sorts
  GrowArray<Pair> fresh;     // the flushing partition's new pairs, sorted, unique

  // From close() (or drain()): each old user's run of pairs in its partition.
  struct Run {
    uint32_t at = 0, len = 0;
  };
  std::vector<Run> runs;
  // From close(), in the aggregator closed: the shards closed with it (itself
  // first), each output user's shard and old number, each shard's old video
  // numbers' new ones (UINT32_MAX: pruned). close() has run once
  // shape.indptr holds its first entry; emit() once the partitions are gone.
  std::vector<Impl*> shards;
  std::vector<std::pair<uint32_t, uint32_t>> out_users;
  std::vector<std::vector<uint32_t>> video_index;
  Shape shape;
  explicit Impl(int bits) : partition_bits(bits), parts(size_t(1) << bits) {}
  Partition& partition(uint64_t user) { return parts[user & (parts.size() - 1)]; }
  const Partition& partition(uint64_t user) const { return parts[user & (parts.size() - 1)]; }
  bool closed() const { return !shape.indptr.empty(); }
  bool emitted() const { return parts.empty(); }

  void prefetch(const KeyedRows& rows, size_t begin, size_t end) const {
    for (size_t i = begin; i < end; ++i) {
      users.prefetch_slot(rows[i].user);
      videos.prefetch_slot(rows[i].video);
    }
  }
  void resolve(const KeyedRows& rows, size_t begin, size_t end) {
    const char* text = rows.text();
    located.clear();
    for (size_t i = begin; i < end; ++i) {
      const KeyedRows::Keyed& p = rows[i];
      const uint32_t u = users.id(p.user, text);
      const uint32_t v = videos.id(p.video, text);
      if (p.located) {
        location_rows.prefetch(u);
        located.emplace_back(u, locations.id(p.location, text));
      }
      Partition& part = partition(u);
      if (part.buffer.size() == part.buffer.capacity()) flush(part);
      part.buffer.push_back({uint64_t(u) << 32 | v, p.weight, p.ts});
    }
    location_rows.add(located);
  }
  void resolve(KeyedRows& batch) {
    resolve(batch, 0, batch.size());
    batch.clear();
  }

  void flush_all() {
    resolve(batches[filling ^ 1]);
    resolve(batches[filling]);
    for (Partition& part : parts) {
      flush(part);
      part.buffer.release();
    }
    scratch.release();
    fresh.release();
  }

  void flush(Partition& part);  // features.cpp
};

}  // namespace vidrec
