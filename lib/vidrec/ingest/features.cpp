// SPDX-License-Identifier: MIT
// Aggregation is sort-based rather than a hash table of pairs: rows are
// buffered as (pair key, weight, time), radix-sorted and merged into a sorted
// array of pairs. A hash table of millions of pairs costs a cache and TLB miss
// per row; sorting walks memory in order, and the merged array needs less
// memory than the table (measured in bench/, see README).
#include "vidrec/ingest/features.hpp"

#include <algorithm>
#include <cfloat>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "vidrec/base/exact_sum.hpp"
#include "vidrec/base/huge_pages.hpp"
#include "vidrec/ingest/interner.hpp"
#include "vidrec/ingest/locations.hpp"

namespace vidrec {

namespace {

// Pair keys are (user << 32 | video) in first-seen numbering.
uint64_t user_of(uint64_t key) { return key >> 32; }
uint64_t video_of(uint64_t key) { return key & 0xffffffff; }

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
int bits_for(size_t n) {
  int b = 0;
  while ((size_t(1) << b) < n) ++b;
  return b;
}

// Sorts one partition's events by (user, video), stably. The radix key packs
// both numbers into as few bits as the current id counts need; users of one
// partition differ only above user_shift (~100k users x 20k videos: 26 bits).
void sort_events(GrowArray<Event>& v, GrowArray<Event>& tmp, size_t n_users, int user_shift,
                 size_t n_videos) {
  const int vb = bits_for(n_videos), total = bits_for((n_users >> user_shift) + 1) + vb;
  auto packed = [vb, user_shift](uint64_t key) { return (user_of(key) >> user_shift) << vb | video_of(key); };
  if (total > 64) {
    std::stable_sort(v.begin(), v.end(), [](const Event& a, const Event& b) { return a.key < b.key; });
    return;
  }
  // Digits of up to 11 bits: 2048 write streams keep the scatter in cache.
  // One read counts every digit's buckets; then one scatter per digit.
  const int passes = (total + 10) / 11, width = passes ? (total + passes - 1) / passes : 0;
  const uint64_t mask = (uint64_t(1) << width) - 1;
  const size_t buckets = size_t(mask) + 1;
  std::vector<size_t> count(size_t(passes) * buckets);
  for (const Event& e : v) {
    const uint64_t key = packed(e.key);
    for (int d = 0; d < passes; ++d) ++count[size_t(d) * buckets + ((key >> (d * width)) & mask)];
  }
  tmp.resize(v.size());
  for (int d = 0; d < passes; ++d) {
    size_t* c = count.data() + size_t(d) * buckets;
    size_t sum = 0;
    for (size_t i = 0; i < buckets; ++i) sum += std::exchange(c[i], sum);
    const int shift = d * width;
    for (const Event& e : v) tmp[c[(packed(e.key) >> shift) & mask]++] = e;
    v.swap(tmp);
  }
}

// Sorts a row's entries (video << 32 | position, videos distinct) by video:
// LSD radix on 8-bit digits of the video's `bits`, insertion sort for short
// rows. std::sort spent ~40 ns an entry on its mispredicted comparisons.
void sort_row(std::vector<uint64_t>& row, std::vector<uint64_t>& tmp, int bits) {
  const size_t n = row.size();
  if (n <= 16) {
    for (size_t i = 1; i < n; ++i)
      for (size_t j = i; j > 0 && row[j - 1] > row[j]; --j) std::swap(row[j - 1], row[j]);
    return;
  }
  tmp.resize(n);
  for (int shift = 32; shift < 32 + bits; shift += 8) {
    uint32_t count[257] = {};
    for (const uint64_t x : row) ++count[((x >> shift) & 0xff) + 1];
    for (int i = 0; i < 256; ++i) count[i + 1] += count[i];
    for (const uint64_t x : row) tmp[count[(x >> shift) & 0xff]++] = x;
    row.swap(tmp);
  }
}

// Events are spread over partitions by user number, and each partition
// sorts and merges its own events: a partition's buffer and pairs stay in
// cache while it is merged, where one global sorted array of pairs (tried
// first) streamed all of them through memory at every flush. 64 partitions
// rather than 256: on 10M rows their arrays outgrow 2 MiB and get huge pages
// (page faults 94k -> 66k, 0.92x the time in paired runs).
constexpr int kPartitionBits = 6;
constexpr size_t kPartitions = size_t(1) << kPartitionBits;
constexpr size_t kMinBuffer = 1024;

}  // namespace

struct Aggregator::Impl {
  Interner users, videos, locations;
  LocationCounts location_rows;
  // Rows waiting for their ids, interner slots prefetched. Two batches
  // alternate, and a batch is resolved only once the next one has filled, so
  // every row's prefetch has had kBatch rows' time to land.
  struct Pending {
    IdKey user, video, location;
    double weight;
    int64_t ts;
    bool located;  // the row has a location
  };
  struct Batch {
    std::vector<Pending> rows;
    std::string text;  // ids too long to pack
  };
  static constexpr size_t kBatch = 32;
  Batch batches[2];
  std::vector<std::pair<uint32_t, uint32_t>> located;  // (user, location) of the batch resolving
  int filling = 0;
  struct Partition {
    GrowArray<Event> buffer;
    GrowArray<Pair> pairs;  // sorted by key, unique
  };
  std::vector<Partition> parts{kPartitions};
  GrowArray<Event> scratch;  // shared by the partitions' sorts
  GrowArray<Pair> fresh;     // the flushing partition's new pairs, sorted, unique

  // From close(): each old user's run of pairs in its partition, new user
  // numbers' old ones, old video numbers' new ones (UINT32_MAX: pruned).
  // close() has run once shape.indptr holds its first entry; emit() once
  // the partitions are gone.
  struct Run {
    uint32_t at = 0, len = 0;
  };
  std::vector<Run> runs;
  std::vector<uint32_t> old_user, video_index;
  Shape shape;
  bool closed() const { return !shape.indptr.empty(); }
  bool emitted() const { return parts.empty(); }

  void resolve(Batch& batch) {
    const char* text = batch.text.data();
    located.clear();
    for (const Pending& p : batch.rows) {
      const uint32_t u = users.id(p.user, text);
      const uint32_t v = videos.id(p.video, text);
      if (p.located) {
        location_rows.prefetch(u);
        located.emplace_back(u, locations.id(p.location, text));
      }
      Partition& part = parts[u & (kPartitions - 1)];
      if (part.buffer.size() == part.buffer.capacity()) flush(part);
      part.buffer.push_back({uint64_t(u) << 32 | v, p.weight, p.ts});
    }
    location_rows.add(located);
    batch.rows.clear();
    batch.text.clear();
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

  // Folds a partition's buffered events into its pairs, merging in place from
  // the back so no second copy of the pairs is ever needed.
  void flush(Partition& part) {
    GrowArray<Event>& buffer = part.buffer;
    GrowArray<Pair>& pairs = part.pairs;
    if (buffer.empty()) {
      buffer.reserve(kMinBuffer);
      return;
    }
    sort_events(buffer, scratch, users.size(), kPartitionBits, videos.size());
    fresh.clear();
    for (const Event& e : buffer) {
      if (fresh.empty() || fresh.back().key != e.key) fresh.push_back({e.key, {}, e.ts, e.ts, 0});
      Pair& acc = fresh.back();
      acc.weight.add(e.weight);
      acc.first = std::min(acc.first, e.ts);
      acc.last = std::max(acc.last, e.ts);
      ++acc.events;
    }
    buffer.clear();
    // Pairs seen before are updated where they are; only new ones are merged in.
    size_t added = 0;
    auto p = pairs.begin();
    for (Pair& f : fresh) {
      while (p != pairs.end() && p->key < f.key) ++p;
      if (p != pairs.end() && p->key == f.key) {
        p->weight.add(f.weight);
        p->first = std::min(p->first, f.first);
        p->last = std::max(p->last, f.last);
        p->events += f.events;
        f.events = 0;  // consumed
      } else {
        ++added;
      }
    }
    size_t i = pairs.size(), k = pairs.size() + added;
    pairs.resize(k);
    for (size_t j = fresh.size(); j-- > 0;) {
      if (fresh[j].events == 0) continue;
      while (i > 0 && pairs[i - 1].key > fresh[j].key) pairs[--k] = pairs[--i];
      pairs[--k] = fresh[j];
    }
    // A buffer as large as the pairs keeps merging amortised O(1) a row: each
    // merge moves the partition's pairs once. (A quarter, tried first, moved
    // them four times as often: 5% slower, 11% less peak memory.)
    buffer.reserve(std::max(kMinBuffer, pairs.size()));
  }
};

Aggregator::Aggregator() : impl_(std::make_unique<Impl>()) {}
Aggregator::~Aggregator() = default;

void Aggregator::add(const Row& row, double weight) {
  Impl& m = *impl_;
  Impl::Batch& batch = m.batches[m.filling];
  const bool located = !row.location.empty();
  const Impl::Pending p{Interner::key(row.user, batch.text),
                        Interner::key(row.video, batch.text),
                        located ? Interner::key(row.location, batch.text) : IdKey{},
                        weight,
                        row.timestamp,
                        located};
  m.users.prefetch_slot(p.user);
  m.videos.prefetch_slot(p.video);
  batch.rows.push_back(p);
  if (batch.rows.size() == Impl::kBatch) {
    m.filling ^= 1;
    m.resolve(m.batches[m.filling]);  // the older batch
  }
}

const Aggregator::Shape& Aggregator::close(const PruneOptions& prune, PruneStats& stats) {
  Impl& m = *impl_;
  if (m.closed() || m.emitted()) throw std::logic_error("Aggregator::close called twice");
  m.flush_all();
  const size_t n_users = m.users.size(), n_videos = m.videos.size();

  // Rows are within float32's range, their sums need not be: a pair past it
  // would be stored as inf and poison training. Drop it, counted.
  std::vector<char> user_alive(n_users, 1), video_alive(n_videos, 1);
  for (Impl::Partition& part : m.parts) {
    Pair* kept = part.pairs.begin();
    for (const Pair& p : part.pairs) {
      if (!exceeds(p.weight, FLT_MAX)) {
        *kept++ = p;
      } else {
        ++stats.overflow_pairs;
        stats.overflow_events += p.events;
      }
    }
    part.pairs.resize(size_t(kept - part.pairs.begin()));
  }
  if (stats.overflow_pairs) {  // users and videos whose every pair went: gone too
    std::fill(user_alive.begin(), user_alive.end(), 0);
    std::fill(video_alive.begin(), video_alive.end(), 0);
    for (const Impl::Partition& part : m.parts)
      for (const Pair& p : part.pairs) user_alive[user_of(p.key)] = video_alive[video_of(p.key)] = 1;
  }

  stats.rounds += prune_to_fixed_point(prune, user_alive, video_alive, [&m](auto&& visit) {
    for (const Impl::Partition& part : m.parts)
      for (const Pair& p : part.pairs) visit(user_of(p.key), video_of(p.key), p.events);
  });

  // Renumber survivors in id order.
  auto renumber = [](const Interner& names, const std::vector<char>& alive, std::vector<std::string>& out) {
    std::vector<uint32_t> index(names.size(), UINT32_MAX);
    for (uint32_t old : names.sorted_order())
      if (alive[old]) {
        index[old] = uint32_t(out.size());
        out.emplace_back(names.name(old));
      }
    return index;
  };
  Shape& shape = m.shape;
  const std::vector<uint32_t> user_index = renumber(m.users, user_alive, shape.user_ids);
  m.video_index = renumber(m.videos, video_alive, shape.video_ids);
  stats.users_removed = n_users - shape.user_ids.size();
  stats.videos_removed = n_videos - shape.video_ids.size();

  // A user's pairs are one run in its partition (sorted by key); one pass
  // finds the runs and counts what survives per row and per video.
  m.runs.assign(n_users, {});
  shape.indptr.assign(shape.user_ids.size() + 1, 0);
  shape.video_counts.assign(shape.video_ids.size(), 0);
  uint64_t total_pairs = 0, total_events = 0, events_kept = 0;
  for (const Impl::Partition& part : m.parts) {
    for (uint32_t i = 0; i < part.pairs.size(); ++i) {
      const Pair& p = part.pairs[i];
      const uint32_t u = uint32_t(user_of(p.key)), v = m.video_index[video_of(p.key)];
      Impl::Run& r = m.runs[u];
      if (r.len++ == 0) r.at = i;
      total_events += p.events;
      if (user_index[u] != UINT32_MAX && v != UINT32_MAX) {
        ++shape.indptr[user_index[u] + 1];
        ++shape.video_counts[v];
        events_kept += p.events;
      }
    }
    total_pairs += part.pairs.size();
  }
  for (size_t u = 0; u < shape.user_ids.size(); ++u) shape.indptr[u + 1] += shape.indptr[u];
  stats.pairs_removed = total_pairs - shape.indptr.back();
  stats.events_removed = total_events - events_kept;
  m.old_user.assign(shape.user_ids.size(), 0);
  for (uint32_t u = 0; u < n_users; ++u)
    if (user_index[u] != UINT32_MAX) m.old_user[user_index[u]] = u;
  m.location_rows.finish();
  std::vector<uint32_t> chosen(m.old_user.size());
  for (size_t u = 0; u < chosen.size(); ++u) chosen[u] = m.location_rows.best(m.old_user[u], m.locations);
  shape.locations = number_locations(m.locations, chosen);
  m.location_rows = {};
  m.locations = Interner();
  return shape;
}

// Rows are laid out in id order, each sorted by new video number: reads jump
// once per row and writes are sequential, where two global counting sorts
// (by video, then user) scattered every pair twice. The entries leave in
// blocks small enough to stay in cache on their way to the file.
void Aggregator::emit(const std::function<void(const EntryBlock&)>& sink) {
  Impl& m = *impl_;
  if (!m.closed() || m.emitted()) throw std::logic_error("Aggregator::emit needs one close() before it");
  auto row_pairs = [&m](uint64_t user) {
    const Pair* p = m.parts[user & (kPartitions - 1)].pairs.begin() + m.runs[user].at;
    return std::make_pair(p, p + m.runs[user].len);
  };
  EntryBlocks out(sink);
  std::vector<uint64_t> row, row_tmp;  // new video << 32 | position in the run
  const int video_bits = bits_for(m.shape.video_ids.size());
  const size_t n_out = m.old_user.size();
  for (size_t u = 0; u < n_out; ++u) {
    const auto [b, e] = row_pairs(m.old_user[u]);
    if (u + 1 < n_out) {
      const auto [nb, ne] = row_pairs(m.old_user[u + 1]);
      for (const char* c = reinterpret_cast<const char*>(nb); c < reinterpret_cast<const char*>(ne); c += 64)
        __builtin_prefetch(c);
    }
    row.clear();
    for (const Pair* p = b; p != e; ++p) {
      const uint32_t v = m.video_index[video_of(p->key)];
      if (v != UINT32_MAX) row.push_back(uint64_t(v) << 32 | uint64_t(p - b));
    }
    sort_row(row, row_tmp, video_bits);
    for (const uint64_t r : row) {
      const Pair& p = b[r & 0xffffffff];
      out.push(uint32_t(r >> 32), p.weight, p.events, p.first, p.last);
    }
  }
  out.flush();
  m.parts.clear();
}

uint64_t Aggregator::memory_bytes() const {
  const Impl& m = *impl_;
  uint64_t bytes = m.users.memory_bytes() + m.videos.memory_bytes() + m.locations.memory_bytes() +
                   m.location_rows.memory_bytes() + m.scratch.capacity() * sizeof(Event) +
                   m.fresh.capacity() * sizeof(Pair);
  for (const Impl::Partition& part : m.parts)
    bytes += part.buffer.capacity() * sizeof(Event) + part.pairs.capacity() * sizeof(Pair);
  // close() and drain() add a run and an order entry per user, an index per video.
  return bytes + 16 * uint64_t(m.users.size()) + 8 * uint64_t(m.videos.size());
}

uint64_t Aggregator::pairs() const {
  uint64_t n = 0;
  for (const Impl::Partition& part : impl_->parts) n += part.pairs.size() + part.buffer.size();
  return n;
}

void Aggregator::drain(const std::function<void(std::string_view, const std::vector<RawPair>&,
                                                const std::vector<RawLocation>&)>& sink) {
  Impl& m = *impl_;
  if (m.closed() || m.emitted()) throw std::logic_error("Aggregator::drain after close()");
  m.flush_all();
  m.location_rows.finish();
  std::vector<uint32_t> rank(m.videos.size());
  {
    const std::vector<uint32_t> order = m.videos.sorted_order();
    for (uint32_t i = 0; i < order.size(); ++i) rank[order[i]] = i;
  }
  m.runs.assign(m.users.size(), {});
  for (const Impl::Partition& part : m.parts)
    for (uint32_t i = 0; i < part.pairs.size(); ++i) {
      Impl::Run& r = m.runs[user_of(part.pairs[i].key)];
      if (r.len++ == 0) r.at = i;
    }
  std::vector<uint64_t> row, row_tmp;  // video rank << 32 | position in the run
  std::vector<RawPair> out;
  std::vector<RawLocation> where;
  const int video_bits = bits_for(m.videos.size());
  for (const uint32_t u : m.users.sorted_order()) {
    const Pair* b = m.parts[u & (kPartitions - 1)].pairs.begin() + m.runs[u].at;
    row.clear();
    for (uint32_t i = 0; i < m.runs[u].len; ++i) row.push_back(uint64_t(rank[video_of(b[i].key)]) << 32 | i);
    sort_row(row, row_tmp, video_bits);
    out.clear();
    for (const uint64_t r : row) {
      const Pair& p = b[r & 0xffffffff];
      out.push_back({m.videos.name(uint32_t(video_of(p.key))), p.weight, p.events, p.first, p.last});
    }
    where.clear();
    m.location_rows.for_user(u, [&](uint32_t l, uint32_t rows) {
      where.push_back({m.locations.name(l), rows});
    });
    std::sort(where.begin(), where.end(),
              [](const RawLocation& x, const RawLocation& y) { return x.location < y.location; });
    sink(m.users.name(u), out, where);
  }
  m.parts.clear();
}

void Aggregator::add_user(std::string_view user, const std::vector<RawPair>& row,
                          const std::vector<RawLocation>& locations) {
  Impl& m = *impl_;
  std::string text;
  const IdKey key = Interner::key(user, text);
  const size_t n_users = m.users.size();
  const uint32_t u = m.users.id(key, text.data());
  if (u != n_users) throw std::logic_error("Aggregator::add_user: user already present");
  // A new user's number is above every user's in the pairs, so its pairs,
  // sorted by video, go at the end of its partition's sorted array.
  std::vector<std::pair<uint32_t, const RawPair*>> sorted;
  for (const RawPair& p : row) {
    text.clear();
    const IdKey k = Interner::key(p.video, text);
    sorted.emplace_back(m.videos.id(k, text.data()), &p);
  }
  std::sort(sorted.begin(), sorted.end());
  GrowArray<Pair>& pairs = m.parts[u & (kPartitions - 1)].pairs;
  for (const auto& [v, p] : sorted) pairs.push_back({uint64_t(u) << 32 | v, p->weight, p->first, p->last, p->events});
  for (const RawLocation& l : locations) {
    text.clear();
    const IdKey k = Interner::key(l.location, text);
    m.location_rows.add_rows(u, m.locations.id(k, text.data()), l.rows);
  }
}

DatasetData Aggregator::finish(const PruneOptions& prune, PruneStats& stats) {
  close(prune, stats);
  Shape& shape = impl_->shape;
  DatasetData d;
  const uint64_t nnz = shape.indptr.back();
  d.indices.reserve(nnz);
  d.weights.reserve(nnz);
  d.events.reserve(nnz);
  d.first_ts.reserve(nnz);
  d.last_ts.reserve(nnz);
  emit([&d](const EntryBlock& b) {
    d.indices.insert(d.indices.end(), b.indices, b.indices + b.size);
    d.weights.insert(d.weights.end(), b.weights, b.weights + b.size);
    d.events.insert(d.events.end(), b.events, b.events + b.size);
    d.first_ts.insert(d.first_ts.end(), b.first_ts, b.first_ts + b.size);
    d.last_ts.insert(d.last_ts.end(), b.last_ts, b.last_ts + b.size);
  });
  d.user_ids = std::move(shape.user_ids);
  d.video_ids = std::move(shape.video_ids);
  d.indptr = std::move(shape.indptr);
  d.locations = std::move(shape.locations);
  return d;
}

}  // namespace vidrec
