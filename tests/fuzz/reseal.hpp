// SPDX-License-Identifier: MIT
// Checksums stop almost every mutated file at the first check, so the fuzzer
// would never reach the structural checks behind them. reseal() rewrites the
// block, section and header checksums of a mutated container (layout in
// vidrec/io/container.hpp), letting mutations through to the deeper validation.
// Tests use it too, to build files that are damaged but correctly sealed.
#pragma once
#include <xxhash.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "vidrec/io/container.hpp"

namespace vidrec::fuzz {

inline void reseal(std::vector<char>& f) {
  if (f.size() < 64) return;
  uint32_t count;
  std::memcpy(&count, f.data() + 12, 4);
  if (count > (f.size() - 64) / 32) return;
  auto entry = [&](uint32_t i, uint32_t& tag, uint64_t& offset, uint64_t& size) {
    const char* e = f.data() + 64 + 32 * i;
    std::memcpy(&tag, e, 4);
    std::memcpy(&offset, e + 8, 8);
    std::memcpy(&size, e + 16, 8);
    return offset <= f.size() && size <= f.size() - offset;
  };
  uint32_t tag;
  uint64_t offset, size;
  // The block checksums (BSUM, the last section) first: its own checksum covers them.
  if (count > 0 && entry(count - 1, tag, offset, size) && std::memcmp(&tag, "BSUM", 4) == 0) {
    uint64_t at = offset;
    for (uint32_t i = 0; i + 1 < count; ++i) {
      uint32_t t;
      uint64_t o, n;
      if (!entry(i, t, o, n)) return;
      for (uint64_t b = 0; b < n && at + 8 <= offset + size; b += kChecksumBlock, at += 8) {
        const uint64_t sum = XXH3_64bits(f.data() + o + b, size_t(std::min<uint64_t>(kChecksumBlock, n - b)));
        std::memcpy(f.data() + at, &sum, 8);
      }
    }
  }
  for (uint32_t i = 0; i < count; ++i) {
    if (!entry(i, tag, offset, size)) continue;
    const uint64_t sum = XXH3_64bits(f.data() + offset, size);
    std::memcpy(f.data() + 64 + 32 * i + 24, &sum, 8);
  }
  std::vector<char> hashed(f.begin(), f.begin() + 64 + 32 * int64_t(count));
  std::memset(hashed.data() + 24, 0, 8);
  const uint64_t h = XXH3_64bits(hashed.data(), hashed.size());
  std::memcpy(f.data() + 24, &h, 8);
}

}  // namespace vidrec::fuzz
