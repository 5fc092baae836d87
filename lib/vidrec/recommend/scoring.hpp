// SPDX-License-Identifier: MIT
// Top-k scoring: the k videos with the highest dot product with a query
// vector (a user's factors, or a normalised video for similarity), excluding
// what the caller blocks.
//
// Contract
// - Fused: dot products are computed for tiles of 8 queries x 16 videos and
//   compared at once with each query's running k-th best score, so the
//   n_videos-long score vector is never written to memory.
// - Results come best first; equal scores are ordered by the lower video
//   index, so results are deterministic and independent of batching.
// - k larger than the number of eligible videos returns all of them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "vidrec/model/panel.hpp"

namespace vidrec {

struct Scored {
  uint32_t video;
  float score;
};

// What a query may not return: videos flagged in `blocked` (one byte per
// video, non-zero = blocked) and those in the ascending list [seen_begin,
// seen_end).
struct Exclusion {
  const uint8_t* blocked = nullptr;
  const uint32_t* seen_begin = nullptr;
  const uint32_t* seen_end = nullptr;
  bool excludes(uint32_t v) const;
};

// out[i] = top k of queries[i] (factors floats each) under exclusions[i].
// With `scores`, scores[i] (panel.stride floats) also receives query i's
// score of every video v < n, excluded or not: the very values ranked, for a
// caller that needs them all (evaluate's AUC) without a second pass.
void top_k(const VideoPanel& panel, const float* const* queries, const Exclusion* exclusions, size_t count,
           uint32_t k, std::vector<Scored>* out, float* const* scores = nullptr);

// The video factors ordered for exact early termination: videos by
// descending norm, in tiles of 16 that hold their factors together (element
// (k, position) at data[(position / 16) * 16 * factors + k * 16 + position %
// 16], one contiguous read per tile). Since q.v <= |q| |v|, a query can stop
// as soon as |q| times the largest norm left cannot beat its k-th best
// score: with the long-tailed norms of implicit-feedback factors most
// queries stop after a small fraction of the catalogue (~5% of the videos on
// the serve benchmark's model, see README).
struct NormOrderedPanel {
  std::vector<float> data;
  std::vector<uint32_t> video;  // position -> video index
  std::vector<float> norm;      // position -> norm, descending
  uint32_t n = 0, factors = 0;
  // From factors given one video per column (f x n).
  static NormOrderedPanel build(const float* factors, uint32_t f, uint32_t n);
};

// What top_k answers (same scores, same order, ties included), with the
// early termination above; no `scale`.
void top_k_pruned(const NormOrderedPanel& panel, const float* const* queries, const Exclusion* exclusions,
                  size_t count, uint32_t k, std::vector<Scored>* out);

// One query with the videos split across `threads` threads (0 = all cores):
// the same result as top_k, sooner, for a single interactive request.
std::vector<Scored> top_k_parallel(const VideoPanel& panel, const float* query, const Exclusion& exclusion,
                                   uint32_t k, unsigned threads);

}  // namespace vidrec
