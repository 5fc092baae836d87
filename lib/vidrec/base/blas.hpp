// SPDX-License-Identifier: MIT
// BLAS and LAPACK (OpenBLAS, else the reference ones), loaded with dlopen on
// their first call. Linked, OpenBLAS's constructor (CPU detection, buffers, a
// thread pool) and libgfortran would cost every command ~5-9 ms of start-up,
// though only train, tune, explain and serve's fold-in solve anything.
//
// Contract
// - blas.cpp defines, with Armadillo's prototypes (Fortran hidden string
//   lengths included; the compiler rejects any mismatch), every BLAS and
//   LAPACK function that Armadillo and this project call. The first call of
//   any of them loads libopenblas.so.0 (thread-safe, once), else the
//   reference liblapack.so.3 (and the libblas.so.3 it needs), and each
//   forwards to the library's own. Neither loading throws IoError naming
//   both and their Debian packages (libopenblas0, liblapack3), from the call
//   that needed it.
// - The two thread-count functions below do not load the library. Before it
//   is loaded (or when the reference BLAS, without threads, was), set stores
//   the count and get returns it (0 until set): the count is applied when
//   OpenBLAS loads. Once it is loaded, both forward, and
//   a count below 1 restores the library's default (OPENBLAS_NUM_THREADS,
//   else one per core), so `set(get())` restores what was in force.
#pragma once

extern "C" void openblas_set_num_threads(int threads);
extern "C" int openblas_get_num_threads(void);
