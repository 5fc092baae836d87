// SPDX-License-Identifier: MIT
// How steady this machine's CPU is: times fixed chunks of arithmetic (~0.2 ms
// each) for a few seconds and reports the 100 ms windows in which a chunk
// took markedly longer than the median. On a shared VM such windows come
// from other tenants, and every latency figure measured here inherits them.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  CLI::App app{"cpu_jitter: slow windows of this machine's CPU"};
  double seconds = 6, factor = 1.25;
  app.add_option("--seconds", seconds, "how long to measure")->check(CLI::PositiveNumber);
  app.add_option("--factor", factor, "a window is slow when its chunks average this x the median")
      ->check(CLI::Range(1.0, 100.0));
  CLI11_PARSE(app, argc, argv);

  std::vector<float> a(1 << 16, 1.0f), b(1 << 16, 0.5f);
  using Clock = std::chrono::steady_clock;
  struct Chunk {
    double at, took;
  };
  std::vector<Chunk> chunks;
  const auto start = Clock::now();
  volatile float sink = 0;
  for (double now = 0; now < seconds; now = std::chrono::duration<double>(Clock::now() - start).count()) {
    const auto s = Clock::now();
    float acc = 0;
    for (int r = 0; r < 4; ++r)
      for (size_t i = 0; i < a.size(); ++i) acc += a[i] * b[i];
    sink = acc;
    chunks.push_back({now, std::chrono::duration<double>(Clock::now() - s).count()});
  }
  std::vector<double> took;
  for (const Chunk& c : chunks) took.push_back(c.took);
  std::nth_element(took.begin(), took.begin() + long(took.size() / 2), took.end());
  const double median = took[took.size() / 2];
  const size_t windows = size_t(seconds * 10);
  std::vector<double> sum(windows + 1, 0);
  std::vector<size_t> n(windows + 1, 0);
  for (const Chunk& c : chunks) {
    const size_t w = std::min(windows, size_t(c.at * 10));
    sum[w] += c.took;
    ++n[w];
  }
  size_t slow = 0;
  double worst = 1;
  for (size_t w = 0; w < windows; ++w) {
    if (!n[w]) continue;
    const double x = sum[w] / double(n[w]) / median;
    worst = std::max(worst, x);
    if (x > factor) {
      ++slow;
      std::printf("  %.1f s: chunks %.2fx the median\n", double(w) / 10, x);
    }
  }
  std::printf(
      "cpu_jitter: %zu of %zu windows of 100 ms ran over %.2fx the median chunk (%.3f ms); worst %.2fx\n",
      slow, windows, factor, median * 1e3, worst);
  return 0;
}
