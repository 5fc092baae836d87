// SPDX-License-Identifier: MIT
#include "vidrec/recommend/scoring.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "vidrec/base/parallel.hpp"
#include "vidrec/base/simd.hpp"

namespace vidrec {

using namespace simd;

namespace {

constexpr uint32_t kLanes = kPanelLanes;
constexpr size_t kBlock = 8;                 // queries per tile: 8 accumulators + loads fit the registers
constexpr uint32_t kSliceBytes = 256 << 10;  // a panel slice that stays in L2

// Worse-first ordering for the heap: lower score, or equal score and higher video.
// A function object, not a function: the heap operations inline it.
constexpr struct {
  bool operator()(const Scored& a, const Scored& b) const {
    return a.score > b.score || (a.score == b.score && a.video < b.video);
  }
} better;

// The k best seen so far for one query; threshold() is what a new candidate must beat.
class Heap {
 public:
  void reset(uint32_t k, const Exclusion* ex) {
    k_ = k;
    ex_ = ex;
    items_.clear();
    items_.reserve(k);
    threshold_ = -std::numeric_limits<float>::infinity();
  }
  float threshold() const { return threshold_; }
  // Videos arrive in ascending index, so a later video never wins a tie.
  void offer(uint32_t v, float s) {
    if (items_.size() == k_ && !(s > threshold_)) return;
    insert(v, s);
  }
  // Videos in any order: a tie goes to the lower video index.
  void offer_unordered(uint32_t v, float s) {
    if (items_.size() == k_ && (s < threshold_ || !better({v, s}, items_.front()))) return;
    insert(v, s);
  }
  bool full() const { return items_.size() == k_; }
  void take(std::vector<Scored>& out) {
    std::sort_heap(items_.begin(), items_.end(), better);
    out.swap(items_);
  }

 private:
  void insert(uint32_t v, float s) {
    if (ex_->excludes(v)) return;
    if (items_.size() < k_) {
      items_.push_back({v, s});
      std::push_heap(items_.begin(), items_.end(), better);
    } else {
      replace_worst({v, s});
    }
    if (items_.size() == k_) threshold_ = items_.front().score;
  }
  // The new item takes the worst one's place at the root and sinks: one pass,
  // where pop_heap + push_heap take two.
  void replace_worst(Scored x) {
    Scored* h = items_.data();
    const size_t n = items_.size();
    size_t i = 0;
    for (size_t c = 1; c < n; c = 2 * i + 1) {
      if (c + 1 < n && better(h[c], h[c + 1])) ++c;  // the worse child
      if (!better(x, h[c])) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = x;
  }
  uint32_t k_ = 0;
  const Exclusion* ex_ = nullptr;
  std::vector<Scored> items_;
  float threshold_ = 0;
};

VIDREC_KERNEL float hmax(v16 v) {
  const v8 a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7);
  const v8 b = __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const v8 m8 = a > b ? a : b;
  const v4 c = __builtin_shufflevector(m8, m8, 0, 1, 2, 3), d = __builtin_shufflevector(m8, m8, 4, 5, 6, 7);
  const v4 m4 = c > d ? c : d;
  return std::max(std::max(m4[0], m4[1]), std::max(m4[2], m4[3]));
}

// `keep`, when set, receives the tile's scores (top_k's `scores`).
VIDREC_KERNEL void offer_tile(Heap& h, v16 acc, const VideoPanel& p, uint32_t v0, float* keep) {
  if (p.scale) acc *= load(p.scale + v0);
  if (keep) store(keep + v0, acc);
  if (!(hmax(acc) > h.threshold())) return;
  const uint32_t end = std::min(kLanes, p.n - v0);
  for (uint32_t j = 0; j < end; ++j) h.offer(v0 + j, acc[j]);
}

// Eight queries against videos [begin, end), 16 videos a step: each panel
// row is loaded once and used by eight independent FMA chains.
VIDREC_HOT void block8(const VideoPanel& p, const float* const* q, Heap* heaps, uint32_t begin, uint32_t end,
                       float* const* keep) {
  const uint32_t f = p.factors;
  for (uint32_t v0 = begin; v0 < end; v0 += kLanes) {
    v16 acc[kBlock] = {};
    const float* col = p.data + v0;
    for (uint32_t k = 0; k < f; ++k) {
      const v16 y = load(col + uint64_t(k) * p.stride);
      for (size_t b = 0; b < kBlock; ++b) acc[b] += q[b][k] * y;
    }
    for (size_t b = 0; b < kBlock; ++b) offer_tile(heaps[b], acc[b], p, v0, keep ? keep[b] : nullptr);
  }
}

// One query against videos [begin, end), 64 videos a step: four independent
// chains hide the FMA latency.
VIDREC_HOT void single(const VideoPanel& p, const float* q, Heap& heap, uint32_t begin, uint32_t end,
                       float* keep) {
  const uint32_t f = p.factors;
  uint32_t v0 = begin;
  for (; v0 + 4 * kLanes <= end; v0 += 4 * kLanes) {
    v16 a0 = {}, a1 = {}, a2 = {}, a3 = {};
    const float* col = p.data + v0;
    for (uint32_t k = 0; k < f; ++k) {
      const float* row = col + uint64_t(k) * p.stride;
      a0 += q[k] * load(row);
      a1 += q[k] * load(row + 16);
      a2 += q[k] * load(row + 32);
      a3 += q[k] * load(row + 48);
    }
    offer_tile(heap, a0, p, v0, keep);
    if (v0 + 16 < p.n) offer_tile(heap, a1, p, v0 + 16, keep);
    if (v0 + 32 < p.n) offer_tile(heap, a2, p, v0 + 32, keep);
    if (v0 + 48 < p.n) offer_tile(heap, a3, p, v0 + 48, keep);
  }
  for (; v0 < end; v0 += kLanes) {
    v16 acc = {};
    for (uint32_t k = 0; k < f; ++k) acc += q[k] * load(p.data + uint64_t(k) * p.stride + v0);
    offer_tile(heap, acc, p, v0, keep);
  }
}

// C queries against one tile of a norm-ordered panel: each panel row is
// loaded once and used by C independent FMA chains.
template <size_t C>
VIDREC_KERNEL void tile_scores(const float* tile, uint32_t f, const float* const* q, v16* acc) {
  v16 a[C] = {};
  for (uint32_t k = 0; k < f; ++k) {
    const v16 y = load(tile + uint64_t(k) * kLanes);
    for (size_t b = 0; b < C; ++b) a[b] += q[b][k] * y;
  }
  for (size_t b = 0; b < C; ++b) acc[b] = a[b];
}

// Up to eight queries against tiles [0, tiles) of a norm-ordered panel. A
// query leaves the block once it cannot gain from the tiles left (bound[b]
// is |q_b| with a margin for rounding; norms only fall and thresholds only
// rise, so it never comes back), and its FMAs leave with it: the block runs
// as long as its slowest query, but pays only for the queries still active.
VIDREC_HOT void pruned8(const NormOrderedPanel& p, const float* const* q, const float* bound, Heap* heaps,
                        size_t n) {
  const uint32_t f = p.factors, tiles = (p.n + kLanes - 1) / kLanes;
  for (uint32_t t = 0; t < tiles; ++t) {
    const float largest = p.norm[uint64_t(t) * kLanes];
    const float* active_q[kBlock];
    Heap* active[kBlock];
    size_t c = 0;
    for (size_t b = 0; b < n; ++b)
      if (!(heaps[b].full() && bound[b] * largest < heaps[b].threshold())) {
        active_q[c] = q[b];
        active[c++] = &heaps[b];
      }
    if (c == 0) return;
    v16 acc[kBlock];
    const float* tile = p.data.data() + uint64_t(t) * kLanes * f;
    switch (c) {
      case 1:
        tile_scores<1>(tile, f, active_q, acc);
        break;
      case 2:
        tile_scores<2>(tile, f, active_q, acc);
        break;
      case 3:
        tile_scores<3>(tile, f, active_q, acc);
        break;
      case 4:
        tile_scores<4>(tile, f, active_q, acc);
        break;
      case 5:
        tile_scores<5>(tile, f, active_q, acc);
        break;
      case 6:
        tile_scores<6>(tile, f, active_q, acc);
        break;
      case 7:
        tile_scores<7>(tile, f, active_q, acc);
        break;
      default:
        tile_scores<8>(tile, f, active_q, acc);
        break;
    }
    const uint32_t end = std::min(kLanes, p.n - t * kLanes);
    for (size_t i = 0; i < c; ++i) {
      if (!(hmax(acc[i]) >= active[i]->threshold())) continue;
      for (uint32_t j = 0; j < end; ++j) active[i]->offer_unordered(p.video[t * kLanes + j], acc[i][j]);
    }
  }
}

}  // namespace

NormOrderedPanel NormOrderedPanel::build(const float* factors, uint32_t f, uint32_t n) {
  NormOrderedPanel p;
  p.n = n;
  p.factors = f;
  std::vector<float> norms(n);
  for (uint32_t v = 0; v < n; ++v) {
    double sum = 0;
    for (uint32_t k = 0; k < f; ++k)
      sum += double(factors[uint64_t(v) * f + k]) * factors[uint64_t(v) * f + k];
    norms[v] = float(std::sqrt(sum));
  }
  p.video.resize(n);
  std::iota(p.video.begin(), p.video.end(), 0u);
  std::stable_sort(p.video.begin(), p.video.end(),
                   [&](uint32_t a, uint32_t b) { return norms[a] > norms[b]; });
  const uint32_t stride = panel_stride(n);
  p.norm.assign(stride, 0.0f);
  p.data.assign(uint64_t(stride) * f, 0.0f);
  for (uint32_t at = 0; at < n; ++at) {
    const uint32_t v = p.video[at];
    p.norm[at] = norms[v];
    for (uint32_t k = 0; k < f; ++k)
      p.data[uint64_t(at / kLanes) * kLanes * f + uint64_t(k) * kLanes + at % kLanes] =
          factors[uint64_t(v) * f + k];
  }
  return p;
}

void top_k_pruned(const NormOrderedPanel& panel, const float* const* queries, const Exclusion* exclusions,
                  size_t count, uint32_t k, std::vector<Scored>* out) {
  std::vector<Heap> heaps(kBlock);
  const float* q[kBlock];
  float bound[kBlock];
  for (size_t i = 0; i < count; i += kBlock) {
    const size_t n = std::min(kBlock, count - i);
    for (size_t b = 0; b < n; ++b) {
      q[b] = queries[i + b];
      heaps[b].reset(k, &exclusions[i + b]);
      double sum = 0;
      for (uint32_t j = 0; j < panel.factors; ++j) sum += double(q[b][j]) * q[b][j];
      // |q.v| <= |q| |v|; float sums of `factors` products err by far less
      // than this margin.
      bound[b] = float(std::sqrt(sum) * (1 + 1e-4)) + 1e-30f;
    }
    pruned8(panel, q, bound, heaps.data(), n);
    for (size_t b = 0; b < n; ++b) heaps[b].take(out[i + b]);
  }
}

bool Exclusion::excludes(uint32_t v) const {
  if (blocked && blocked[v]) return true;
  return seen_begin != seen_end && std::binary_search(seen_begin, seen_end, v);
}

void top_k(const VideoPanel& panel, const float* const* queries, const Exclusion* exclusions, size_t count,
           uint32_t k, std::vector<Scored>* out, float* const* scores) {
  // Scoring streams the panel from memory; with many queries, all of them
  // take their turn on one cache-sized slice of videos before the next slice
  // is loaded, so memory traffic is shared by all queries instead of eight.
  const uint32_t slice =
      std::max<uint32_t>(kLanes, (kSliceBytes / (4 * std::max(1u, panel.factors))) / kLanes * kLanes);
  std::vector<Heap> heaps(count);
  for (size_t i = 0; i < count; ++i) heaps[i].reset(k, &exclusions[i]);
  const size_t blocked = count / kBlock * kBlock;
  for (uint32_t begin = 0; begin < panel.n; begin += slice) {
    const uint32_t end = std::min(panel.stride, begin + slice);
    for (size_t i = 0; i < blocked; i += kBlock)
      block8(panel, queries + i, &heaps[i], begin, end, scores ? scores + i : nullptr);
    for (size_t i = blocked; i < count; ++i)
      single(panel, queries[i], heaps[i], begin, end, scores ? scores[i] : nullptr);
  }
  for (size_t i = 0; i < count; ++i) heaps[i].take(out[i]);
}

std::vector<Scored> top_k_parallel(const VideoPanel& panel, const float* query, const Exclusion& exclusion,
                                   uint32_t k, unsigned threads) {
  const unsigned parts = resolve_threads(threads);
  if (parts == 1) {  // no thread hand-off (a server runs many of these at once)
    std::vector<Scored> out;
    top_k(panel, &query, &exclusion, 1, k, &out);
    return out;
  }
  // Part boundaries on 64-video steps, the single-query kernel's stride.
  const uint32_t step = (panel.stride / parts + 63) / 64 * 64;
  std::vector<std::vector<Scored>> found(parts);
  parallel_for(
      parts, parts,
      [&](uint64_t b, uint64_t e, unsigned) {
        for (uint64_t part = b; part < e; ++part) {
          const uint32_t begin = uint32_t(std::min<uint64_t>(part * step, panel.stride));
          const uint32_t end = uint32_t(std::min<uint64_t>(begin + uint64_t(step), panel.stride));
          Heap heap;
          heap.reset(k, &exclusion);
          if (begin < end) single(panel, query, heap, begin, end, nullptr);
          heap.take(found[part]);
        }
      },
      1);
  std::vector<Scored> all;
  for (auto& f : found) all.insert(all.end(), f.begin(), f.end());
  std::sort(all.begin(), all.end(), better);
  if (all.size() > k) all.resize(k);
  return all;
}

}  // namespace vidrec
