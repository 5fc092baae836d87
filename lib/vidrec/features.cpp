// SPDX-License-Identifier: MIT
// Aggregation is sort-based rather than a hash table of pairs: rows are
// buffered as (pair key, weight, time), radix-sorted and merged into a sorted
// array of pairs. A hash table of millions of pairs costs a cache and TLB miss
// per row; sorting walks memory in order, and the merged array needs less
// memory than the table (measured in bench/, see README).
#include "vidrec/features.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <utility>

#include "vidrec/errors.hpp"

namespace vidrec {

namespace {

// Large arrays get transparent huge pages: fewer page faults while they fill
// (the kernel otherwise faults in 4 KiB at a time, ~1 s of a 10M-row run)
// and fewer TLB misses on the scattered radix-sort writes.
template <class T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kHuge = size_t(2) << 20;
  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) {}
  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kHuge) return std::allocator<T>().allocate(n);
    void* p = std::aligned_alloc(kHuge, (bytes + kHuge - 1) / kHuge * kHuge);
    if (!p) throw std::bad_alloc();
    ::madvise(p, bytes, MADV_HUGEPAGE);
    return static_cast<T*>(p);
  }
  // resize() then leaves new elements uninitialised: they are written next.
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHuge)
      std::allocator<T>().deallocate(p, n);
    else
      std::free(p);
  }
  template <class U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
  template <class U>
  bool operator!=(const HugePageAllocator<U>&) const {
    return false;
  }
};

// The growing array of pairs: realloc lets the kernel move large blocks with
// mremap, so growth neither copies the pairs nor zeroes fresh pages for them
// again, as std::vector's allocate-copy-free would. T is trivially copyable.
template <class T>
class GrowArray {
 public:
  GrowArray() = default;
  GrowArray(const GrowArray&) = delete;
  GrowArray& operator=(const GrowArray&) = delete;
  ~GrowArray() { std::free(data_); }
  void resize(size_t n) {
    if (n > capacity_) {
      const size_t cap = std::max(n, capacity_ + capacity_ / 2);
      void* p = std::realloc(data_, cap * sizeof(T));
      if (!p) throw std::bad_alloc();
      data_ = static_cast<T*>(p);
      capacity_ = cap;
      if (cap * sizeof(T) >= (size_t(2) << 20)) ::madvise(data_, cap * sizeof(T), MADV_HUGEPAGE);
    }
    size_ = n;
  }
  void release() {
    std::free(data_);
    data_ = nullptr;
    size_ = capacity_ = 0;
  }
  T* begin() { return data_; }
  T* end() { return data_ + size_; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  size_t size() const { return size_; }

 private:
  T* data_ = nullptr;
  size_t size_ = 0, capacity_ = 0;
};

// Numbers distinct ids in first-seen order. Open addressing over 16-byte
// slots (hash, number, arena offset); names are length-prefixed in one
// arena. With random row order every
// lookup misses the cache twice (slot, name), so callers batch rows and
// prefetch both before resolving them (see Aggregator::Impl::resolve).
class Interner {
 public:
  Interner() : slots_(1024) {}

  static uint64_t hash(std::string_view s) { return std::hash<std::string_view>()(s); }
  void prefetch_slot(uint64_t h) const { __builtin_prefetch(&slots_[h & (slots_.size() - 1)]); }
  void prefetch_name(uint64_t h) const {
    const Slot& slot = slots_[h & (slots_.size() - 1)];
    if (slot.index != kEmpty) __builtin_prefetch(arena_.data() + slot.offset);
  }

  uint32_t id(std::string_view s, uint64_t h) {
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.index == kEmpty) return insert(slot, s, h);
      if (slot.hash == h && name_at(slot.offset) == s) return slot.index;
    }
  }
  size_t size() const { return offsets_.size(); }
  std::string_view name(uint32_t i) const { return name_at(offsets_[i]); }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  struct Slot {
    uint64_t hash = 0;
    uint32_t index = kEmpty;
    uint32_t offset = 0;
  };
  // Arena entries are a 4-byte length, then the bytes (ids may hold NULs).
  std::string_view name_at(uint32_t offset) const {
    uint32_t len;
    std::memcpy(&len, arena_.data() + offset, sizeof len);
    return {arena_.data() + offset + sizeof len, len};
  }
  uint32_t insert(Slot& slot, std::string_view s, uint64_t h) {
    if (arena_.size() + s.size() + 4 > UINT32_MAX) throw InputError("more than 4 GiB of distinct ids");
    const uint32_t n = uint32_t(offsets_.size());
    slot = {h, n, uint32_t(arena_.size())};
    offsets_.push_back(slot.offset);
    const auto len = uint32_t(s.size());
    arena_.append(reinterpret_cast<const char*>(&len), sizeof len);
    arena_.append(s);
    if (2 * offsets_.size() > slots_.size()) grow();
    return n;
  }
  void grow() {
    std::vector<Slot> bigger(slots_.size() * 2);
    const size_t mask = bigger.size() - 1;
    for (const Slot& s : slots_)
      if (s.index != kEmpty) {
        size_t i = s.hash & mask;
        while (bigger[i].index != kEmpty) i = (i + 1) & mask;
        bigger[i] = s;
      }
    slots_.swap(bigger);
  }
  std::vector<Slot> slots_;
  std::string arena_;
  std::vector<uint32_t> offsets_;
};

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
  double weight;
  int64_t first, last;
  uint32_t events;
};

// Sorts events by (user, video), stably. The radix key packs both numbers into
// as few bits as the current id counts need (~100k users x 20k videos: 32).
template <class Vec>
void sort_events(Vec& v, Vec& tmp, size_t n_users, size_t n_videos) {
  auto bits = [](size_t n) {
    int b = 0;
    while ((size_t(1) << b) < n) ++b;
    return b;
  };
  const int vb = bits(n_videos), total = bits(n_users) + vb;
  auto packed = [vb](uint64_t key) { return user_of(key) << vb | video_of(key); };
  if (total > 64) {
    std::stable_sort(v.begin(), v.end(), [](const Event& a, const Event& b) { return a.key < b.key; });
    return;
  }
  // Digits of up to 11 bits: 2048 write streams keep the scatter in cache
  // and the TLB, where 16-bit digits (65536 streams) thrash both.
  const int passes = (total + 10) / 11, width = passes ? (total + passes - 1) / passes : 0;
  const uint64_t mask = (uint64_t(1) << width) - 1;
  tmp.resize(v.size());
  std::vector<size_t> count(size_t(mask) + 2);
  for (int shift = 0; shift < total; shift += width) {
    std::fill(count.begin(), count.end(), 0);
    for (const Event& e : v) ++count[((packed(e.key) >> shift) & mask) + 1];
    for (size_t i = 1; i < count.size(); ++i) count[i] += count[i - 1];
    for (const Event& e : v) tmp[count[(packed(e.key) >> shift) & mask]++] = e;
    v.swap(tmp);
  }
}

// Indices of names in ascending byte order.
std::vector<uint32_t> sorted_order(const Interner& names) {
  std::vector<uint32_t> order(names.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return names.name(a) < names.name(b); });
  return order;
}

constexpr size_t kMinBuffer = size_t(2) << 20;

}  // namespace

struct Aggregator::Impl {
  Interner users, videos;
  // Rows waiting for their ids: text copied into batch_text, slots prefetched.
  struct Pending {
    uint64_t user_hash, video_hash;
    uint32_t user_at, user_len, video_at, video_len;
    double weight;
    int64_t ts;
  };
  static constexpr size_t kBatch = 32;
  std::vector<Pending> batch;
  std::string batch_text;
  std::vector<Event, HugePageAllocator<Event>> buffer, scratch;
  GrowArray<Pair> pairs;                             // sorted by key, unique
  std::vector<Pair, HugePageAllocator<Pair>> fresh;  // this flush's pairs, sorted, unique

  void resolve() {
    for (const Pending& p : batch) {
      users.prefetch_name(p.user_hash);
      videos.prefetch_name(p.video_hash);
    }
    for (const Pending& p : batch) {
      const uint32_t u = users.id({batch_text.data() + p.user_at, p.user_len}, p.user_hash);
      const uint32_t v = videos.id({batch_text.data() + p.video_at, p.video_len}, p.video_hash);
      buffer.push_back({uint64_t(u) << 32 | v, p.weight, p.ts});
    }
    batch.clear();
    batch_text.clear();
    if (buffer.size() >= buffer.capacity() - kBatch) flush();
  }

  // Folds the buffered events into `pairs`, merging in place from the back
  // so no second copy of the pairs is ever needed.
  void flush() {
    if (!batch.empty()) resolve();
    if (buffer.empty()) return;
    sort_events(buffer, scratch, users.size(), videos.size());
    fresh.clear();
    for (const Event& e : buffer) {
      if (fresh.empty() || fresh.back().key != e.key) fresh.push_back({e.key, 0.0, e.ts, e.ts, 0});
      Pair& acc = fresh.back();
      acc.weight += e.weight;
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
        p->weight += f.weight;
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
    // A buffer of a quarter of the pairs keeps merging amortised O(1) a row.
    buffer.reserve(std::max(kMinBuffer, pairs.size() / 4));
  }
};

Aggregator::Aggregator() : impl_(std::make_unique<Impl>()) { impl_->buffer.reserve(kMinBuffer); }
Aggregator::~Aggregator() = default;

void Aggregator::add(const Row& row, double weight) {
  Impl& m = *impl_;
  Impl::Pending p{Interner::hash(row.user),
                  Interner::hash(row.video),
                  uint32_t(m.batch_text.size()),
                  uint32_t(row.user.size()),
                  uint32_t(m.batch_text.size() + row.user.size()),
                  uint32_t(row.video.size()),
                  weight,
                  row.timestamp};
  m.users.prefetch_slot(p.user_hash);
  m.videos.prefetch_slot(p.video_hash);
  m.batch_text.append(row.user);
  m.batch_text.append(row.video);
  m.batch.push_back(p);
  if (m.batch.size() == Impl::kBatch) m.resolve();
}

DatasetData Aggregator::finish(const PruneOptions& prune, PruneStats& stats) {
  Impl& m = *impl_;
  m.flush();
  m.buffer = {};
  m.scratch = {};
  m.fresh = {};
  const size_t n_users = m.users.size(), n_videos = m.videos.size();

  // Prune to a fixed point: a round recounts events over surviving pairs.
  std::vector<char> user_alive(n_users, 1), video_alive(n_videos, 1);
  if (prune.min_user_events > 1 || prune.min_video_events > 1) {
    std::vector<uint64_t> ue(n_users), ve(n_videos);
    for (;;) {
      std::fill(ue.begin(), ue.end(), 0);
      std::fill(ve.begin(), ve.end(), 0);
      for (const Pair& p : m.pairs)
        if (user_alive[user_of(p.key)] && video_alive[video_of(p.key)]) {
          ue[user_of(p.key)] += p.events;
          ve[video_of(p.key)] += p.events;
        }
      bool changed = false;
      for (size_t u = 0; u < n_users; ++u)
        if (user_alive[u] && ue[u] < prune.min_user_events) user_alive[u] = 0, changed = true;
      for (size_t v = 0; v < n_videos; ++v)
        if (video_alive[v] && ve[v] < prune.min_video_events) video_alive[v] = 0, changed = true;
      if (!changed) break;
      ++stats.rounds;
    }
  }

  // Renumber survivors in id order.
  auto renumber = [](const Interner& names, const std::vector<char>& alive, std::vector<std::string>& out) {
    std::vector<uint32_t> index(names.size(), UINT32_MAX);
    for (uint32_t old : sorted_order(names))
      if (alive[old]) {
        index[old] = uint32_t(out.size());
        out.emplace_back(names.name(old));
      }
    return index;
  };
  DatasetData d;
  const std::vector<uint32_t> user_index = renumber(m.users, user_alive, d.user_ids);
  const std::vector<uint32_t> video_index = renumber(m.videos, video_alive, d.video_ids);
  stats.users_removed = n_users - d.user_ids.size();
  stats.videos_removed = n_videos - d.video_ids.size();

  // CSR by counting sort on the user, then each row sorted by video.
  d.indptr.assign(d.user_ids.size() + 1, 0);
  for (const Pair& p : m.pairs) {
    const uint32_t u = user_index[user_of(p.key)];
    if (u != UINT32_MAX && video_index[video_of(p.key)] != UINT32_MAX) {
      ++d.indptr[u + 1];
    } else {
      ++stats.pairs_removed;
      stats.events_removed += p.events;
    }
  }
  for (size_t u = 0; u < d.user_ids.size(); ++u) d.indptr[u + 1] += d.indptr[u];
  const uint64_t nnz = d.indptr.back();
  // (video << 32 | pair slot): one integer sort key per entry.
  std::vector<uint64_t, HugePageAllocator<uint64_t>> entry(nnz);
  {
    std::vector<uint64_t> next(d.indptr.begin(), d.indptr.end() - 1);
    for (size_t slot = 0; slot < m.pairs.size(); ++slot) {
      const uint64_t key = m.pairs[slot].key;
      const uint32_t u = user_index[user_of(key)], v = video_index[video_of(key)];
      if (u != UINT32_MAX && v != UINT32_MAX) entry[next[u]++] = uint64_t(v) << 32 | slot;
    }
  }
  for (size_t u = 0; u < d.user_ids.size(); ++u)
    std::sort(entry.begin() + int64_t(d.indptr[u]), entry.begin() + int64_t(d.indptr[u + 1]));
  d.indices.resize(nnz);
  d.weights.resize(nnz);
  d.events.resize(nnz);
  d.first_ts.resize(nnz);
  d.last_ts.resize(nnz);
  for (uint64_t k = 0; k < nnz; ++k) {
    const Pair& p = m.pairs[entry[k] & 0xffffffff];
    d.indices[k] = uint32_t(entry[k] >> 32);
    d.weights[k] = float(p.weight);
    d.events[k] = p.events;
    d.first_ts[k] = p.first;
    d.last_ts[k] = p.last;
  }
  m.pairs.release();
  return d;
}

}  // namespace vidrec
