// SPDX-License-Identifier: MIT
#include "vidrec/model/ann.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <queue>
#include <stdexcept>

#include "vidrec/base/errors.hpp"
#include "vidrec/base/parallel.hpp"
#include "vidrec/base/simd.hpp"
// hnswlib is header-only and not warning-clean.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-variable"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wcast-function-type"
// Without its SSE paths: hnswlib 0.6.2's searchBaseLayer prefetches the entry
// after each link list's last one, a read past the list's allocation
// (AddressSanitizer: heap-buffer-overflow while building; upstream
// nmslib/hnswlib#107, #459). The build's distances use our own SIMD dot
// product instead (IpSpace), and the search is ours.
#define NO_MANUAL_VECTORIZATION
#include <hnswlib/hnswlib.h>
#pragma GCC diagnostic pop

namespace vidrec {

using namespace simd;

void AnnParams::validate() const {
  if (m < 2 || m > 256) throw ConfigError("--ann-m must be in 2..256, got " + std::to_string(m));
  if (ef_construction < 1 || ef_construction > kMaxEf)
    throw ConfigError("--ann-ef-construction must be in 1.." + std::to_string(kMaxEf) + ", got " +
                      std::to_string(ef_construction));
}

namespace {

// Section layout: this header (u64 each), upper_ptr[n + 1] (u64), level 0
// links n x (1 + m0) (u32), upper links (u32); see ann.hpp.
enum Header : size_t { kMagic, kSpace, kCount, kFactors, kM, kM0, kMaxLevel, kEntry, kHeaderWords };
constexpr uint64_t kGraphMagic = 0x3130574e53485256ull;  // "VRHNSW01"
constexpr uint64_t kMaxLevels = 64;

VIDREC_KERNEL float dot(const float* a, const float* b, uint32_t f) {
  v16 acc = {};
  uint32_t k = 0;
  for (; k + 16 <= f; k += 16) acc += load(a + k) * load(b + k);
  float s = hsum(acc);
  for (; k < f; ++k) s += a[k] * b[k];
  return s;
}

// hnswlib's inner-product space with our SIMD dot product: its own SIMD paths
// are compiled out (above), and its scalar loop made building the graph
// several times slower.
VIDREC_HOT float ip_distance(const void* a, const void* b, const void* dim) {
  return 1.0f - dot(static_cast<const float*>(a), static_cast<const float*>(b),
                    uint32_t(*static_cast<const size_t*>(dim)));
}

class IpSpace final : public hnswlib::SpaceInterface<float> {
 public:
  explicit IpSpace(size_t dim) : dim_(dim) {}
  size_t get_data_size() override { return dim_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return ip_distance; }
  void* get_dist_func_param() override { return &dim_; }

 private:
  size_t dim_;
};

// The vectors hnswlib indexes: as they are (inner product), or normalised (cosine).
std::vector<float> indexed_vectors(const float* x, uint32_t f, uint32_t n, AnnSpace space) {
  std::vector<float> out(x, x + uint64_t(n) * f);
  if (space == AnnSpace::Cosine)
    for (uint64_t v = 0; v < n; ++v) {
      double sq = 0;
      for (uint32_t k = 0; k < f; ++k) sq += double(x[v * f + k]) * x[v * f + k];
      const double scale = sq > 0 ? 1 / std::sqrt(sq) : 1.0;  // a zero vector stays zero
      for (uint32_t k = 0; k < f; ++k) out[v * f + k] = float(x[v * f + k] * scale);
    }
  return out;
}

}  // namespace

std::string build_ann(const float* factors, uint32_t f, uint32_t n, AnnSpace space, const AnnParams& p,
                      const std::function<void(uint64_t)>& progress) {
  p.validate();
  if (n == 0) throw std::invalid_argument("build_ann: no videos");
  const uint32_t dim = f;
  std::vector<float> data = indexed_vectors(factors, f, n, space);
  // 1 - q.v: on normalised vectors the cosine distance, a metric's order.
  IpSpace ip(dim);
  hnswlib::HierarchicalNSW<float> index(&ip, n, p.m, p.ef_construction, p.seed);
  // The first point alone, as hnswlib's own bindings do: it becomes the entry.
  index.addPoint(data.data(), 0);
  std::atomic<uint64_t> done{1};
  parallel_for(
      n - 1, p.threads,
      [&](uint64_t b, uint64_t e, unsigned thread) {
        for (uint64_t i = b + 1; i < e + 1; ++i) index.addPoint(data.data() + i * dim, i);
        const uint64_t d = done.fetch_add(e - b) + (e - b);
        if (thread == 0 && progress) progress(d);
      },
      256);
  data = {};

  // Internal ids follow insertion order; the section is indexed by video.
  std::vector<uint32_t> internal(n);
  for (uint32_t i = 0; i < n; ++i) internal[index.getExternalLabel(i)] = i;
  const uint64_t m = index.maxM_, m0 = index.maxM0_;
  std::vector<uint64_t> words(kHeaderWords + n + 1);
  words[kMagic] = kGraphMagic;
  words[kSpace] = uint64_t(space);
  words[kCount] = n;
  words[kFactors] = f;
  words[kM] = m;
  words[kM0] = m0;
  words[kMaxLevel] = uint64_t(index.maxlevel_);
  words[kEntry] = index.getExternalLabel(index.enterpoint_node_);
  uint64_t* upper_ptr = words.data() + kHeaderWords;
  std::vector<uint32_t> level0(uint64_t(n) * (m0 + 1), 0), upper;
  auto copy_links = [&](unsigned* list, uint64_t slots, uint32_t* out) {
    const unsigned count = index.getListCount(list);
    out[0] = count;
    for (unsigned j = 0; j < count && j < slots; ++j)
      out[1 + j] = uint32_t(index.getExternalLabel(list[1 + j]));
  };
  for (uint32_t v = 0; v < n; ++v) {
    const uint32_t i = internal[v];
    copy_links(index.get_linklist0(i), m0, level0.data() + uint64_t(v) * (m0 + 1));
    upper_ptr[v] = upper.size();
    for (int level = 1; level <= index.element_levels_[i]; ++level) {
      upper.resize(upper.size() + m + 1, 0);
      copy_links(index.get_linklist(i, level), m, upper.data() + upper.size() - (m + 1));
    }
  }
  upper_ptr[n] = upper.size();
  std::string out;
  out.reserve(words.size() * 8 + (level0.size() + upper.size()) * 4);
  out.append(reinterpret_cast<const char*>(words.data()), words.size() * 8);
  out.append(reinterpret_cast<const char*>(level0.data()), level0.size() * 4);
  out.append(reinterpret_cast<const char*>(upper.data()), upper.size() * 4);
  return out;
}

AnnGraph AnnGraph::view(std::string_view bytes, AnnSpace space, uint32_t n, uint32_t f) {
  auto bad = [](const std::string& why) { throw std::runtime_error("ANN index: " + why); };
  if (bytes.size() < kHeaderWords * 8) bad("shorter than its header");
  if (reinterpret_cast<uintptr_t>(bytes.data()) % 8) bad("misaligned");
  const auto* w = reinterpret_cast<const uint64_t*>(bytes.data());
  if (w[kMagic] != kGraphMagic) bad("not an HNSW graph of this format");
  if (w[kSpace] != uint64_t(space)) bad("built for another space");
  if (w[kCount] != n)
    bad("built over " + std::to_string(w[kCount]) + " videos, the model has " + std::to_string(n));
  if (w[kFactors] != f)
    bad("built for " + std::to_string(w[kFactors]) + " factors, the model has " + std::to_string(f));
  if (w[kM] < 1 || w[kM] > 10000 || w[kM0] < 1 || w[kM0] > 20000) bad("link counts out of range");
  if (w[kMaxLevel] >= kMaxLevels || w[kEntry] >= n) bad("entry point out of range");
  AnnGraph g;
  g.n_ = n;
  g.f_ = f;
  g.m_ = uint32_t(w[kM]);
  g.m0_ = uint32_t(w[kM0]);
  g.max_level_ = uint32_t(w[kMaxLevel]);
  g.entry_ = uint32_t(w[kEntry]);
  g.space_ = space;
  const uint64_t head = (kHeaderWords + uint64_t(n) + 1) * 8, level0 = uint64_t(n) * (g.m0_ + 1) * 4;
  if (bytes.size() < head + level0) bad("truncated");
  g.upper_ptr_ = w + kHeaderWords;
  g.level0_ = reinterpret_cast<const uint32_t*>(bytes.data() + head);
  g.upper_ = g.level0_ + uint64_t(n) * (g.m0_ + 1);
  const uint64_t upper_words = (bytes.size() - head - level0) / 4;
  if (g.upper_ptr_[0] != 0 || g.upper_ptr_[n] != upper_words || (bytes.size() - head - level0) % 4)
    bad("upper levels' size does not match");
  auto check_list = [&](const uint32_t* list, uint32_t slots) {
    if (list[0] > slots) bad("a node has too many links");
    for (uint32_t j = 1; j <= list[0]; ++j)
      if (list[j] >= n) bad("a link leaves the graph");
  };
  for (uint32_t v = 0; v < n; ++v) {
    check_list(g.level0_ + uint64_t(v) * (g.m0_ + 1), g.m0_);
    const uint64_t b = g.upper_ptr_[v], e = g.upper_ptr_[v + 1];
    if (e < b || e > upper_words || (e - b) % (g.m_ + 1) || (e - b) / (g.m_ + 1) > g.max_level_)
      bad("upper-level pointers out of range");
    for (uint64_t o = b; o < e; o += g.m_ + 1) check_list(g.upper_ + o, g.m_);
  }
  if ((g.upper_ptr_[g.entry_ + 1] - g.upper_ptr_[g.entry_]) / (g.m_ + 1) != g.max_level_)
    bad("the entry point is not on the top level");
  return g;
}

namespace {

// Per-thread visited marks: a generation number per video, so a search
// clears nothing.
struct Visited {
  std::vector<uint32_t> mark;
  uint32_t generation = 0;
  void start(uint32_t n) {
    if (mark.size() < n) mark.resize(n, 0);
    if (++generation == 0) {
      std::fill(mark.begin(), mark.end(), 0);
      generation = 1;
    }
  }
  bool visit(uint32_t v) {
    if (mark[v] == generation) return false;
    mark[v] = generation;
    return true;
  }
};

// A search stops after this many visits per result slot and link: only
// reached when the filter lets too few videos through (a short --only list),
// and the caller then falls back to exact scoring, cheaper than walking the
// whole graph. Never reached when ef >= n (the search is then exhaustive).
constexpr uint64_t kVisitsPerLink = 8;

using Entry = std::pair<float, uint32_t>;  // distance (-score), video

// The cache lines of a video's factors, requested ahead of the dot products
// that read them: a search's reads land all over the factor matrix, and
// waiting for each miss in turn costs more than the arithmetic.
inline void prefetch_vector(const float* v, uint32_t f) {
  const char* p = reinterpret_cast<const char*>(v);
  for (uint32_t b = 0; b < f * 4; b += 64) __builtin_prefetch(p + b);
}

// A search's working memory, kept per thread: a query allocates nothing.
struct SearchState {
  Visited visited;
  std::vector<Entry> candidates, results;  // heaps: nearest first, farthest first
  std::vector<uint32_t> fresh;             // one node's unvisited links
};

VIDREC_HOT void search_graph(const float* q, const float* y, const float* inv, uint32_t f, uint32_t entry,
                             uint32_t max_level, uint32_t n, uint32_t ef, const uint32_t* level0, uint32_t m0,
                             const uint64_t* upper_ptr, const uint32_t* upper, uint32_t m,
                             const std::function<bool(uint32_t)>& allowed, std::vector<uint32_t>& out) {
  auto dist = [&](uint32_t v) {
    const float s = dot(q, y + uint64_t(v) * f, f);
    return -(inv ? s * inv[v] : s);
  };
  uint32_t cur = entry;
  float cur_d = dist(cur);
  for (uint32_t level = max_level; level > 0; --level) {
    for (bool changed = true; changed;) {
      changed = false;
      const uint64_t b = upper_ptr[cur];
      if ((upper_ptr[cur + 1] - b) / (m + 1) < level) break;  // validated: cannot happen below the entry
      const uint32_t* list = upper + b + uint64_t(level - 1) * (m + 1);
      for (uint32_t j = 1; j <= list[0]; ++j) prefetch_vector(y + uint64_t(list[j]) * f, f);
      for (uint32_t j = 1; j <= list[0]; ++j) {
        const float d = dist(list[j]);
        if (d < cur_d) {
          cur_d = d;
          cur = list[j];
          changed = true;
        }
      }
    }
  }
  static thread_local SearchState st;
  std::vector<Entry>&candidates = st.candidates, &results = st.results;
  std::vector<uint32_t>& fresh = st.fresh;
  candidates.clear();
  results.clear();
  const auto nearest_first = std::greater<Entry>();
  const auto farthest_first = std::less<Entry>();
  st.visited.start(n);
  float bound = std::numeric_limits<float>::infinity();
  const uint64_t budget = uint64_t(ef) * m0 * kVisitsPerLink;
  uint64_t visits = 1;
  st.visited.visit(cur);
  candidates.push_back({cur_d, cur});
  if (allowed(cur)) results.push_back({cur_d, cur});
  if (results.size() >= ef) bound = cur_d;
  while (!candidates.empty() && visits <= budget) {
    const Entry c = candidates.front();
    if (c.first > bound) break;
    std::pop_heap(candidates.begin(), candidates.end(), nearest_first);
    candidates.pop_back();
    const uint32_t* list = level0 + uint64_t(c.second) * (m0 + 1);
    fresh.clear();
    for (uint32_t j = 1; j <= list[0]; ++j)
      if (st.visited.visit(list[j])) {
        fresh.push_back(list[j]);
        prefetch_vector(y + uint64_t(list[j]) * f, f);
      }
    // The next candidate's links, read once these are scored.
    if (!candidates.empty()) __builtin_prefetch(level0 + uint64_t(candidates.front().second) * (m0 + 1));
    visits += fresh.size();
    for (const uint32_t v : fresh) {
      const float d = dist(v);
      if (results.size() >= ef && !(d < bound)) continue;
      candidates.push_back({d, v});
      std::push_heap(candidates.begin(), candidates.end(), nearest_first);
      if (!allowed(v)) continue;
      results.push_back({d, v});
      std::push_heap(results.begin(), results.end(), farthest_first);
      if (results.size() > ef) {
        std::pop_heap(results.begin(), results.end(), farthest_first);
        results.pop_back();
      }
      if (results.size() >= ef) bound = results.front().first;
    }
  }
  out.clear();
  for (const Entry& e : results) out.push_back(e.second);
}

}  // namespace

std::vector<uint32_t> AnnGraph::search(const float* query, const float* factors, const float* inv_norms,
                                       uint32_t k, uint32_t ef,
                                       const std::function<bool(uint32_t)>& allowed) const {
  ef = std::max({ef, k, 1u});
  std::vector<uint32_t> out;
  out.reserve(ef);
  search_graph(query, factors, space_ == AnnSpace::Cosine ? inv_norms : nullptr, f_, entry_, max_level_, n_,
               ef, level0_, m0_, upper_ptr_, upper_, m_, allowed, out);
  return out;
}

}  // namespace vidrec
