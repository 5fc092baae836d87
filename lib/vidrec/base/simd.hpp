// SPDX-License-Identifier: MIT
// Portable SIMD for the hot loops (ALS solver, scoring): a 16-float vector
// type and a few force-inlined helpers, plus VIDREC_HOT, which compiles a
// function for x86-64-v4 (AVX-512), v3 (AVX2+FMA) and the baseline and picks
// one at load time, so the default build needs no -march flag.
#pragma once
#include <cstdint>

namespace vidrec::simd {

// Kernels are force-inlined into VIDREC_HOT functions (a kernel left out of
// line would be compiled for the baseline only); v16 becomes one zmm, two ymm
// or four xmm registers per clone.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)  // clang: the fuzz builds, baseline only
#define VIDREC_HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define VIDREC_KERNEL __attribute__((always_inline)) inline
#else
#define VIDREC_HOT
#define VIDREC_KERNEL inline
#endif

// GCC notes that passing these by value would change the ABI without AVX-512;
// they never cross a call boundary (all helpers are inlined), so silence it.
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float v16 __attribute__((vector_size(64)));
typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));

VIDREC_KERNEL v16 load(const float* p) {
  v16 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}

VIDREC_KERNEL void store(float* p, v16 v) { __builtin_memcpy(p, &v, sizeof v); }

VIDREC_KERNEL float hsum(v16 v) {
  const v8 a = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
               __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const v4 b = __builtin_shufflevector(a, a, 0, 1, 2, 3) + __builtin_shufflevector(a, a, 4, 5, 6, 7);
  return (b[0] + b[2]) + (b[1] + b[3]);
}

}  // namespace vidrec::simd
