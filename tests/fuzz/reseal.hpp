// SPDX-License-Identifier: MIT
// Checksums stop almost every mutated file at the first check, so the fuzzer
// would never reach the structural checks behind them. reseal() rewrites the
// section and header checksums of a mutated container (layout in
// vidrec/io/container.hpp), letting mutations through to the deeper validation.
#pragma once
#include <xxhash.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace vidrec::fuzz {

inline void reseal(std::vector<char>& f) {
  if (f.size() < 64) return;
  uint32_t count;
  std::memcpy(&count, f.data() + 12, 4);
  if (count > (f.size() - 64) / 32) return;
  for (uint32_t i = 0; i < count; ++i) {
    char* e = f.data() + 64 + 32 * i;
    uint64_t offset, size;
    std::memcpy(&offset, e + 8, 8);
    std::memcpy(&size, e + 16, 8);
    if (offset > f.size() || size > f.size() - offset) continue;
    const uint64_t sum = XXH3_64bits(f.data() + offset, size);
    std::memcpy(e + 24, &sum, 8);
  }
  std::vector<char> hashed(f.begin(), f.begin() + 64 + 32 * int64_t(count));
  std::memset(hashed.data() + 24, 0, 8);
  const uint64_t h = XXH3_64bits(hashed.data(), hashed.size());
  std::memcpy(f.data() + 24, &h, 8);
}

}  // namespace vidrec::fuzz
