// SPDX-License-Identifier: MIT
// Times recommendation scoring in process: the median latency of one user's
// top-k (seen videos excluded) over many random users, and batch throughput
// in microseconds per user over the first --batch users.
//   recommend_bench model.vrm -k 10 --threads 2 --samples 2000 --batch 200000
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "vidrec/recommend/recommend.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Time recommendation scoring"};
  std::string path;
  uint32_t k = 10, samples = 2000, batch = 200000;
  unsigned threads = 2;
  app.add_option("model", path)->required();
  app.add_option("-k", k);
  app.add_option("--threads", threads);
  app.add_option("--samples", samples);
  app.add_option("--batch", batch);
  CLI11_PARSE(app, argc, argv);

  using Clock = std::chrono::steady_clock;
  const vidrec::Model m = vidrec::Model::open(path, vidrec::Model::Verify::Header);
  vidrec::RecommendOptions opt;
  opt.k = k;
  const vidrec::Recommender rec(m, opt);
  std::printf("model: %u users, %u videos, %u factors\n", m.n_users(), m.n_videos(), m.factors());

  std::mt19937 rng(1);
  std::vector<double> us;
  size_t sink = 0;
  for (uint32_t i = 0; i < samples; ++i) {
    const std::string_view id = m.user_id(uint32_t(rng() % m.n_users()));
    const auto t0 = Clock::now();
    sink += rec.for_user(id).items.size();
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  std::printf("single user: median %.0f us, p90 %.0f us, p99 %.0f us (%u samples, k=%u)\n", us[us.size() / 2],
              us[us.size() * 9 / 10], us[us.size() * 99 / 100], samples, k);

  std::vector<std::string_view> ids;
  for (uint32_t u = 0; u < std::min(batch, m.n_users()); ++u) ids.push_back(m.user_id(u));
  const auto t0 = Clock::now();
  rec.for_users(ids, threads, [&](const vidrec::Recommendations& r) { sink += r.items.size(); });
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("batch: %zu users in %.2f s, %.1f us/user, %.0f users/s (%u threads)\n", ids.size(), secs,
              secs * 1e6 / double(ids.size()), double(ids.size()) / secs, threads);
  return sink == 0;
}
