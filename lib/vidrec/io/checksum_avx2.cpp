// SPDX-License-Identifier: MIT
// XXH3-64 compiled for AVX2: this file alone is built with -mavx2, and
// checksum64 (container.cpp) calls it only on a CPU with AVX2. Debian's
// libxxhash is an SSE2 build whose run-time dispatch lives in the shared
// library alone, and verifying the blocks a `recommend` call reads was ~40%
// of its time. XXH3's value does not depend on the vector width (the
// format's definition); tests/io compares it with the library's.
#define XXH_INLINE_ALL
#define XXH_VECTOR XXH_AVX2
#include <xxhash.h>

#include <cstddef>
#include <cstdint>

namespace vidrec::detail {

uint64_t xxh3_64_avx2(const void* data, size_t size) { return XXH3_64bits(data, size); }

}  // namespace vidrec::detail
