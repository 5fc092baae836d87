// SPDX-License-Identifier: MIT
// Interner: numbers the distinct user or video ids of a log in first-seen
// order, at a cache miss per lookup. Header-only: aggregation inlines its
// lookups into the batch that resolves them (features.cpp).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include "vidrec/base/errors.hpp"
#include "vidrec/base/huge_pages.hpp"

namespace vidrec {

inline uint64_t load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline uint64_t load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline uint64_t mix(uint64_t a, uint64_t b) {
  const __uint128_t r = static_cast<__uint128_t>(a) * b;
  return uint64_t(r) ^ uint64_t(r >> 64);
}

// Ids are short: wyhash's construction (overlapping loads, one 128-bit
// multiply per 16 bytes) hashes them in a few cycles, where std::hash's
// byte loop took ~5% of a prepare run.
inline uint64_t hash_id(std::string_view s) {
  constexpr uint64_t k0 = 0xa0761d6478bd642full, k1 = 0xe7037ed1a0b428dbull, k2 = 0x8ebc6af09c88c6e3ull;
  const char* p = s.data();
  const size_t n = s.size();
  uint64_t a = 0, b = 0, seed = k0;
  if (n <= 16) {
    if (n >= 4) {
      const size_t mid = (n >> 3) << 2;
      a = load32(p) << 32 | load32(p + mid);
      b = load32(p + n - 4) << 32 | load32(p + n - 4 - mid);
    } else if (n > 0) {
      const auto byte = [&](size_t i) { return uint64_t(static_cast<unsigned char>(p[i])); };
      a = byte(0) << 16 | byte(n >> 1) << 8 | byte(n - 1);
    }
  } else {
    size_t i = n;
    for (; i > 16; i -= 16, p += 16) seed = mix(load64(p) ^ k1, load64(p + 8) ^ seed);
    a = load64(p + i - 16);
    b = load64(p + i - 8);
  }
  return mix(k1 ^ n, mix(a ^ k1, b ^ seed ^ k2));
}

// An id ready for lookup: its hash, and its bytes packed into two zero-padded
// words when it fits a slot; a longer id stays in the caller's text at `at`.
struct IdKey {
  uint64_t hash;
  uint64_t head[2];
  uint32_t len, at;
};

// Numbers distinct ids in first-seen order. Open addressing over 32-byte
// slots; an id of up to 16 bytes is kept in its slot, so a lookup costs one
// cache miss (longer ids are compared in the arena, a second miss). With
// random row order every lookup misses, so callers batch rows and prefetch
// the slots before resolving them (see Aggregator::Impl::resolve).
class Interner {
 public:
  Interner() : slots_(1024) {}

  // The key of `s`. A short id travels packed, so batching rows copies no
  // text; a long one is appended to `spill`.
  static IdKey key(std::string_view s, std::string& spill) { return key(s, spill, hash_id(s)); }
  static IdKey key(std::string_view s, std::string& spill, uint64_t hash) {  // hash: hash_id(s)
    IdKey k{hash, {0, 0}, uint32_t(s.size()), 0};
    if (k.len <= kInline) {
      pack(s, k.head);
    } else {
      k.at = uint32_t(spill.size());
      spill.append(s);
    }
    return k;
  }
  void prefetch_slot(const IdKey& k) const { __builtin_prefetch(&slots_[k.hash & (slots_.size() - 1)]); }

  // Inlined into resolve(), so a batch's two lookups per row interleave
  // (called, it was 14% of a run, most of it waiting on one slot at a time).
  __attribute__((always_inline)) uint32_t id(const IdKey& k, const char* spill) {
    const size_t mask = slots_.size() - 1;
    const auto tag = uint32_t(k.hash >> 32);
    for (size_t i = k.hash & mask;; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.index == kEmpty) return insert(slot, k, spill);
      if (slot.tag == tag && slot.len == k.len &&
          (k.len <= kInline ? slot.head[0] == k.head[0] && slot.head[1] == k.head[1]
                            : name(slot.index) == std::string_view(spill + k.at, k.len)))
        return slot.index;
    }
  }
  size_t size() const { return offsets_.size(); }
  // Indices of the ids in ascending byte order.
  std::vector<uint32_t> sorted_order() const {
    std::vector<uint32_t> order(size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [this](uint32_t a, uint32_t b) { return name(a) < name(b); });
    return order;
  }
  // Bytes held, by capacity (a memory budget's view of the table).
  size_t memory_bytes() const {
    return slots_.capacity() * sizeof(Slot) + arena_.capacity() + offsets_.capacity() * sizeof(uint32_t);
  }
  std::string_view name(uint32_t i) const {
    uint32_t len;
    std::memcpy(&len, arena_.data() + offsets_[i], sizeof len);
    return {arena_.data() + offsets_[i] + sizeof len, len};
  }

 private:
  static constexpr uint32_t kEmpty = UINT32_MAX;
  static constexpr uint32_t kInline = 16;
  struct alignas(32) Slot {  // never straddles a cache line
    uint32_t tag = 0;        // the hash's high half; the low bits pick the slot
    uint32_t index = kEmpty;
    uint32_t len = 0;
    uint64_t head[2] = {0, 0};  // the id, zero-padded, when it fits
  };
  // An id of up to 16 bytes as two zero-padded words, from overlapping loads
  // (a memcpy into a buffer read back as words stalls on store forwarding).
  // In memory the words are the id's bytes: insert() copies them from there.
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "pack() assumes little-endian words");
  static void pack(std::string_view s, uint64_t head[2]) {
    const char* p = s.data();
    const size_t n = s.size();
    if (n >= 8) {
      head[0] = load64(p);
      head[1] = n == 8 ? 0 : load64(p + n - 8) >> (8 * (16 - n));
    } else if (n >= 4) {
      head[0] = load32(p) | load32(p + n - 4) << (8 * (n - 4));
    } else {
      for (size_t i = 0; i < n; ++i) head[0] |= uint64_t(static_cast<unsigned char>(p[i])) << (8 * i);
    }
  }
  // Arena entries are a 4-byte length, then the bytes (ids may hold NULs).
  uint32_t insert(Slot& slot, const IdKey& k, const char* spill) {
    if (arena_.size() + k.len + 4 > UINT32_MAX) throw InputError("more than 4 GiB of distinct ids");
    const auto n = uint32_t(offsets_.size());
    slot.tag = uint32_t(k.hash >> 32);
    slot.index = n;
    slot.len = k.len;
    slot.head[0] = k.head[0];
    slot.head[1] = k.head[1];
    offsets_.push_back(uint32_t(arena_.size()));
    arena_.append(reinterpret_cast<const char*>(&k.len), sizeof k.len);
    arena_.append(k.len <= kInline ? reinterpret_cast<const char*>(k.head) : spill + k.at, k.len);
    if (2 * offsets_.size() > slots_.size()) grow();
    return n;
  }
  void grow() {
    std::vector<Slot> bigger;
    resize_huge(bigger, slots_.size() * 2);
    const size_t mask = bigger.size() - 1;
    for (const Slot& s : slots_)
      if (s.index != kEmpty) {
        size_t i = hash_id(name(s.index)) & mask;
        while (bigger[i].index != kEmpty) i = (i + 1) & mask;
        bigger[i] = s;
      }
    slots_.swap(bigger);
  }
  // On huge pages from grow(): a prefetch that misses the TLB waits for the page walk.
  std::vector<Slot> slots_;
  std::string arena_;
  std::vector<uint32_t> offsets_;
};

}  // namespace vidrec
