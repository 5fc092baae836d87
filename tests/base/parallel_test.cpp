// SPDX-License-Identifier: MIT
#include "vidrec/base/parallel.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

using vidrec::parallel_for;

TEST_CASE("parallel_for covers every index once in grain-aligned chunks", "[parallel]") {
  for (uint64_t n : {0u, 1u, 7u, 64u, 65u, 1000u})
    for (uint64_t grain : {1u, 3u, 64u, 5000u})
      for (unsigned threads : {1u, 2u, 5u}) {
        std::vector<int> hits(n, 0);
        std::mutex m;
        parallel_for(
            n, threads,
            [&](uint64_t b, uint64_t e, unsigned id) {
              std::lock_guard<std::mutex> lock(m);
              CHECK(b % grain == 0);
              CHECK(e == std::min(n, b + grain));
              CHECK(id < threads);
              for (uint64_t i = b; i < e; ++i) ++hits[i];
            },
            grain);
        for (uint64_t i = 0; i < n; ++i) REQUIRE(hits[i] == 1);
      }
}

TEST_CASE("parallel_for runs chunks concurrently", "[parallel]") {
  // Chunk 0 waits for chunk 1 to start: only possible with two live workers.
  std::atomic<bool> second_started{false};
  std::atomic<bool> overlapped{false};
  parallel_for(
      2, 2,
      [&](uint64_t b, uint64_t, unsigned) {
        if (b == 1) {
          second_started = true;
          return;
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!second_started && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
        overlapped = second_started.load();
      },
      1);
  CHECK(overlapped);
}

TEST_CASE("parallel_for rethrows the first exception on the caller", "[parallel]") {
  std::atomic<uint64_t> calls{0};
  auto throwing = [&](uint64_t b, uint64_t, unsigned) {
    ++calls;
    if (b == 3) throw std::domain_error("chunk 3 failed");
  };
  CHECK_THROWS_MATCHES(parallel_for(100000, 2, throwing, 1), std::domain_error,
                       Catch::Message("chunk 3 failed"));
  // The hand-out stops at the failure. Checked on one thread: with two, a
  // descheduled thrower can let the other worker finish every chunk first.
  calls = 0;
  CHECK_THROWS_AS(parallel_for(100000, 1, throwing, 1), std::domain_error);
  CHECK(calls == 4);
}

TEST_CASE("parallel_for keeps OpenBLAS single-threaded, then restores it", "[parallel]") {
  openblas_set_num_threads(2);
  const int before = openblas_get_num_threads();
  std::atomic<int> inside{-1};
  parallel_for(4, 2, [&](uint64_t, uint64_t, unsigned) { inside = openblas_get_num_threads(); });
  CHECK(inside == 1);
  CHECK(openblas_get_num_threads() == before);
}

TEST_CASE("resolve_threads maps 0 to the core count", "[parallel]") {
  CHECK(vidrec::resolve_threads(0) >= 1);
  CHECK(vidrec::resolve_threads(3) == 3);
}
