// SPDX-License-Identifier: MIT
// The ANN index against exact scoring on a synthetic model: build time and
// size, then for random users (seen videos excluded in both) recall@k of the
// approximate answer against the exact one and the median time per query of
// each: the exact full scan (recommend's kernel, one thread), the exact
// norm-ordered scan (serve's kernel) and the index at several ef.
//   ann_bench DIR --videos 100000 --factors 64 --users 10000 --queries 2000
// The model (DIR/ann-<videos>.vrm, indexed) is built once: videos around
// 1,000 taste clusters, norms log-normal (long-tailed, as ALS factors of
// popular and rare videos are), users near a cluster; 20 seen videos each.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>

#include "vidrec/model/indexing.hpp"
#include "vidrec/recommend/approximate.hpp"
#include "vidrec/recommend/recommend.hpp"

using namespace vidrec;
using Clock = std::chrono::steady_clock;

namespace {

void synthesize(const std::string& dir, const std::string& stem, uint32_t users, uint32_t videos,
                uint32_t f) {
  std::mt19937 rng(11);
  std::normal_distribution<float> g;
  std::lognormal_distribution<float> norm(0.0f, 0.5f);
  constexpr uint32_t kClusters = 1000;
  std::vector<float> centre(size_t(kClusters) * f), vf(size_t(videos) * f), uf(size_t(users) * f);
  for (float& x : centre) x = g(rng);
  for (uint32_t v = 0; v < videos; ++v) {
    const float* c = centre.data() + size_t(rng() % kClusters) * f;
    const float s = norm(rng) / std::sqrt(float(f));
    for (uint32_t k = 0; k < f; ++k) vf[size_t(v) * f + k] = (c[k] + 0.7f * g(rng)) * s;
  }
  for (uint32_t u = 0; u < users; ++u) {
    const float* c = centre.data() + size_t(rng() % kClusters) * f;
    for (uint32_t k = 0; k < f; ++k) uf[size_t(u) * f + k] = c[k] + g(rng);
  }
  DatasetData d;
  char id[32];
  for (uint32_t u = 0; u < users; ++u) d.user_ids.push_back((std::snprintf(id, sizeof id, "u%08u", u), id));
  for (uint32_t v = 0; v < videos; ++v) d.video_ids.push_back((std::snprintf(id, sizeof id, "v%08u", v), id));
  d.indptr.push_back(0);
  for (uint32_t u = 0; u < users; ++u) {
    std::vector<uint32_t> seen;
    while (seen.size() < 20) seen.push_back(uint32_t(rng() % videos));
    std::sort(seen.begin(), seen.end());
    seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
    d.indices.insert(d.indices.end(), seen.begin(), seen.end());
    d.indptr.push_back(d.indices.size());
  }
  // One event of weight 1 per pair, at time 0.
  d.weights.resize(d.indices.size(), 1.0f);
  d.events.resize(d.indices.size(), 1);
  d.first_ts = d.last_ts = std::vector<int64_t>(d.indices.size(), 0);
  write_dataset(d, dir + "/" + stem + ".vrd");
  ModelData md;
  md.factors = f;
  md.user_factors = uf.data();
  md.video_factors = vf.data();
  write_model(Dataset::open(dir + "/" + stem + ".vrd"), md, dir + "/" + stem + "-plain.vrm");
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ANN index against exact scoring"};
  std::string dir;
  uint32_t videos = 100000, users = 10000, f = 64, queries = 2000, k = 10;
  unsigned threads = 0;
  std::vector<uint32_t> efs{10, 25, 50, 100, 200, 400};
  app.add_option("dir", dir)->required();
  app.add_option("--videos", videos);
  app.add_option("--users", users);
  app.add_option("--factors", f);
  app.add_option("--queries", queries);
  app.add_option("--threads", threads, "index build threads (0 = all)");
  app.add_option("--ef", efs)->delimiter(',');
  CLI11_PARSE(app, argc, argv);

  const std::string stem = "ann-" + std::to_string(videos), path = dir + "/" + stem + ".vrm";
  if (!std::filesystem::exists(path)) {
    synthesize(dir, stem, users, videos, f);
    AnnParams p;
    p.threads = threads;
    index_model(dir + "/" + stem + "-plain.vrm", path, p, true);
  }
  const Model m = Model::open(path, Model::Verify::Full);
  std::printf("model: %u users, %u videos, %u factors; index %s\n", m.n_users(), m.n_videos(), m.factors(),
              m.meta()["ann"].dump().c_str());

  std::mt19937 rng(3);
  std::vector<uint32_t> sample(queries);
  for (uint32_t& u : sample) u = uint32_t(rng() % m.n_users());
  RecommendOptions o;
  o.k = k;
  o.threads = 1;
  o.exact = true;
  const Recommender exact(m, o);
  std::vector<std::vector<Scored>> truth(queries);
  std::vector<double> us;
  for (uint32_t i = 0; i < queries; ++i) {
    const auto t0 = Clock::now();
    truth[i] = exact.for_user(m.user_id(sample[i])).items;
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  const double exact_us = median(us);
  std::printf("exact full scan (recommend, 1 thread): median %.1f us/query\n", exact_us);

  const NormOrderedPanel ranked = NormOrderedPanel::build(m.video_factors(), m.factors(), m.n_videos());
  us.clear();
  size_t agree = 0;
  for (uint32_t i = 0; i < queries; ++i) {
    const float* q = m.user_vector(sample[i]);
    Exclusion ex;
    std::tie(ex.seen_begin, ex.seen_end) = m.seen(sample[i]);
    std::vector<Scored> out;
    const auto t0 = Clock::now();
    top_k_pruned(ranked, &q, &ex, 1, k, &out);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    agree += out.size() == truth[i].size() &&
             std::equal(out.begin(), out.end(), truth[i].begin(),
                        [](const Scored& a, const Scored& b) { return a.video == b.video; });
  }
  const double pruned_us = median(us);
  std::printf("exact norm-ordered scan (serve): median %.1f us/query (%zu/%u answers equal)\n", pruned_us,
              agree, queries);

  std::printf("%6s %10s %12s %14s %14s\n", "ef", "recall@10", "us/query", "vs full scan", "vs serve scan");
  for (const uint32_t ef : efs) {
    o.exact = false;
    o.ef = ef;
    const Recommender approx(m, o);
    us.clear();
    size_t hits = 0, total = 0;
    for (uint32_t i = 0; i < queries; ++i) {
      const auto t0 = Clock::now();
      const Recommendations r = approx.for_user(m.user_id(sample[i]));
      us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
      for (const Scored& s : r.items)
        hits += std::any_of(truth[i].begin(), truth[i].end(),
                            [&](const Scored& t) { return t.video == s.video; });
      total += truth[i].size();
    }
    const double t = median(us);
    std::printf("%6u %10.4f %12.1f %13.1fx %13.1fx\n", ef, double(hits) / double(total), t, exact_us / t,
                pruned_us / t);
  }
  return 0;
}
