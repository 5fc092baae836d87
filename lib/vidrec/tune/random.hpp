// SPDX-License-Identifier: MIT
// The search's random numbers: SplitMix64 (Steele, Lea & Flood 2014), with
// uniform doubles taken from the top 53 bits. Specified here rather than taken
// from <random>, whose distributions differ between standard libraries, so a
// seed gives the same trials everywhere.
#pragma once
#include <cstdint>

namespace vidrec {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }
  // Uniform in [0, n), n >= 1 (the tiny modulo bias is irrelevant here).
  uint64_t below(uint64_t n) { return next() % n; }

 private:
  uint64_t state_;
};

}  // namespace vidrec
