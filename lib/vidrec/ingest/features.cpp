// SPDX-License-Identifier: MIT
// Aggregation is sort-based rather than a hash table of pairs: rows are
// buffered as (pair key, weight, time), radix-sorted and merged into a sorted
// array of pairs. A hash table of millions of pairs costs a cache and TLB miss
// per row; sorting walks memory in order, and the merged array needs less
// memory than the table (measured in bench/, see README). Closing and
// emitting: features_out.cpp.
#include <algorithm>
#include <stdexcept>
#include <utility>

#include "vidrec/ingest/features_impl.hpp"

namespace vidrec {

using namespace aggregation;

namespace {

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

}  // namespace

namespace aggregation {

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

}  // namespace aggregation

// Folds a partition's buffered events into its pairs, merging in place from
// the back so no second copy of the pairs is ever needed.
void Aggregator::Impl::flush(Partition& part) {
  GrowArray<Event>& buffer = part.buffer;
  GrowArray<Pair>& pairs = part.pairs;
  if (buffer.empty()) {
    buffer.reserve(kMinBuffer);
    return;
  }
  sort_events(buffer, scratch, users.size(), partition_bits, videos.size());
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

Aggregator::Aggregator(size_t shards) {
  int bits = kPartitionBits;
  while (bits > 0 && (size_t(1) << (kPartitionBits - bits)) < shards) --bits;
  impl_ = std::make_unique<Impl>(bits);
}
Aggregator::~Aggregator() = default;

void Aggregator::add(const Row& row, double weight) {
  Impl& m = *impl_;
  KeyedRows& batch = m.batches[m.filling];
  batch.add(row, weight);
  m.prefetch(batch, batch.size() - 1, batch.size());
  if (batch.size() == Impl::kBatch) {
    m.filling ^= 1;
    m.resolve(m.batches[m.filling]);  // the older batch
  }
}

// A batch's slots are prefetched a batch ahead of their lookups, as add() does.
void Aggregator::add(const KeyedRows& rows, size_t begin, size_t end) {
  Impl& m = *impl_;
  m.prefetch(rows, begin, std::min(end, begin + Impl::kBatch));
  for (size_t at = begin; at < end; at += Impl::kBatch) {
    const size_t stop = std::min(end, at + Impl::kBatch);
    m.prefetch(rows, stop, std::min(end, stop + Impl::kBatch));
    m.resolve(rows, at, stop);
  }
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
    const Pair* b = m.partition(u).pairs.begin() + m.runs[u].at;
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
  GrowArray<Pair>& pairs = m.partition(u).pairs;
  for (const auto& [v, p] : sorted) pairs.push_back({uint64_t(u) << 32 | v, p->weight, p->first, p->last, p->events});
  for (const RawLocation& l : locations) {
    text.clear();
    const IdKey k = Interner::key(l.location, text);
    m.location_rows.add_rows(u, m.locations.id(k, text.data()), l.rows);
  }
}

}  // namespace vidrec
