// SPDX-License-Identifier: MIT
// Approximate nearest-neighbour search over the video factors: an HNSW graph
// (Malkov & Yashunin), built by Debian's hnswlib and stored as a model
// section, searched here in place in the mapped model file.
//
// Contract
// - Two spaces: InnerProduct (recommend: the largest q.v) and Cosine
//   (similar: the largest q.v / |v|, q normalised). Maximum inner product is
//   not a metric, but HNSW built and searched with -q.v directly (ip-NSW,
//   Morozov & Babenko 2018) finds it well: on the README's benchmark it
//   reached recall@10 0.98 at ef 100 where the reduction to a metric (the
//   videos lifted onto one sphere, v' = (v, sqrt(M^2 - |v|^2)), Bachrach et
//   al. 2014) reached 0.18, its long-tailed norms putting most videos near
//   one pole. The search needs only q.v, so it reads the model's own
//   factors: the section holds the graph alone (links, no vectors; about
//   (2m + 1) * 4 bytes per video plus the upper levels).
// - hnswlib builds the graph (its insertion is thread-safe); the search is
//   ours: Debian's hnswlib 0.6.2 has no filter, keeps ef in the index
//   (setEf is not per query nor thread-safe), reads and writes files only,
//   and trusts the bytes it loads. The section is checksummed by the
//   container and its structure validated (AnnGraph::view) before any
//   search: a damaged or hostile section is a FormatError, never a crash.
// - Determinism: with threads = 1 videos are inserted in index order with a
//   fixed seed, so the same factors give the same bytes; parallel insertion
//   interleaves by timing and is not reproducible (the graph's quality is
//   the same).
// - search() visits the graph as HNSW does, but only videos `allowed` lets
//   through enter the result set (hnswlib's later filter semantics), so
//   exclusions cost no recall; it returns at most max(ef, k) such videos.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace vidrec {

enum class AnnSpace : uint32_t { InnerProduct = 0, Cosine = 1 };
enum class AnnMethod : uint32_t { None, Hnsw };

struct AnnParams {
  AnnMethod method = AnnMethod::None;  // train --ann: whether to build one
  uint32_t m = 16;                     // links per node on the upper levels, 2m on level 0
  uint32_t ef_construction = 200;      // candidate list while inserting
  uint32_t seed = 100;                 // hnswlib's level generator
  unsigned threads = 0;                // 0 = all cores; 1 = deterministic
  void validate() const;               // ConfigError: m in 2..256, ef_construction in 1..100000
};

// Default search breadth (candidates kept), for a recall@10 above 0.95 on
// the README's benchmark models.
constexpr uint32_t kDefaultEf = 100;
// Largest ef a request may ask for.
constexpr uint32_t kMaxEf = 100000;

// The section bytes of a graph over n videos (f floats each, contiguous);
// progress(done) is called from one thread now and then.
std::string build_ann(const float* factors, uint32_t f, uint32_t n, AnnSpace space, const AnnParams& params,
                      const std::function<void(uint64_t done)>& progress = {});

// A validated view of section bytes (kept alive by the caller: the mapped model).
class AnnGraph {
 public:
  // Throws std::runtime_error saying what is wrong unless `bytes` is a graph
  // of `space` over exactly n videos of f factors, every link in range.
  static AnnGraph view(std::string_view bytes, AnnSpace space, uint32_t n, uint32_t f);

  // Up to max(ef, k) allowed videos near `query`, unordered. `factors`: the
  // model's (f floats per video); `inv_norms`: per video, Cosine only.
  std::vector<uint32_t> search(const float* query, const float* factors, const float* inv_norms, uint32_t k,
                               uint32_t ef, const std::function<bool(uint32_t)>& allowed) const;
  uint32_t m() const { return m_; }
  uint32_t levels() const { return max_level_ + 1; }

 private:
  uint32_t n_ = 0, f_ = 0, m_ = 0, m0_ = 0, max_level_ = 0, entry_ = 0;
  AnnSpace space_ = AnnSpace::InnerProduct;
  const uint64_t* upper_ptr_ = nullptr;  // n + 1 offsets into upper_ (u32 units)
  const uint32_t* level0_ = nullptr;     // per video: count, then m0 links
  const uint32_t* upper_ = nullptr;      // per video, levels 1..L: count, then m links
};

}  // namespace vidrec
