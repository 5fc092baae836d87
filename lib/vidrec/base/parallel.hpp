// SPDX-License-Identifier: MIT
// parallel_for(n, threads, fn, grain) calls fn(begin, end, thread_id) on
// disjoint chunks [begin, end) that together cover [0, n).
//  - Chunk boundaries are multiples of `grain`, so they depend on n and grain
//    only, never on the thread count or on timing; work attributed per chunk
//    is therefore reproducible.
//  - Chunks are handed out dynamically: row costs follow the power-law
//    popularity of videos, so a static split would leave threads idle.
//  - thread_id < resolve_threads(threads); the calling thread is worker 0.
//  - The first exception thrown by fn stops the hand-out of further chunks
//    and is rethrown on the caller once every worker has finished.
//  - OpenBLAS is held single-threaded meanwhile (restored afterwards), so BLAS
//    calls inside fn do not oversubscribe the cores.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "vidrec/base/blas.hpp"
#include "vidrec/base/cpus.hpp"

namespace vidrec {

// 0 means one thread per CPU the process may use (cpus.hpp).
inline unsigned resolve_threads(unsigned threads) { return threads != 0 ? threads : available_cpus(); }

template <class Fn>
void parallel_for(uint64_t n, unsigned threads, Fn&& fn, uint64_t grain = 64) {
  if (n == 0) return;
  grain = std::max<uint64_t>(grain, 1);
  const uint64_t chunks = (n - 1) / grain + 1;
  const unsigned workers = static_cast<unsigned>(std::min<uint64_t>(resolve_threads(threads), chunks));

  struct BlasSingleThread {
    int saved = openblas_get_num_threads();
    BlasSingleThread() { openblas_set_num_threads(1); }
    ~BlasSingleThread() { openblas_set_num_threads(saved); }
  } blas_guard;

  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto record = [&](std::exception_ptr e) {
    std::lock_guard<std::mutex> lock(error_mutex);
    if (!error) error = e;
    failed.store(true);
  };
  auto work = [&](unsigned id) {
    try {
      while (!failed.load(std::memory_order_relaxed)) {
        const uint64_t c = next.fetch_add(1, std::memory_order_relaxed);
        if (c >= chunks) return;
        const uint64_t begin = c * grain;
        fn(begin, std::min(n, begin + grain), id);
      }
    } catch (...) {
      record(std::current_exception());
    }
  };

  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  try {
    for (unsigned id = 1; id < workers; ++id) pool.emplace_back(work, id);
  } catch (...) {  // thread creation failed: stop, join the ones started
    record(std::current_exception());
  }
  work(0);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace vidrec
