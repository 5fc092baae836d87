// SPDX-License-Identifier: MIT
#include "vidrec/recommend/scoring.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>

using namespace vidrec;

namespace {

struct Case {
  uint32_t n, f;
  std::vector<float> factors;  // f x n, one video per column
  std::vector<float> panel;
  VideoPanel view() const { return {panel.data(), nullptr, n, panel_stride(n), f}; }
};

Case make_case(uint32_t n, uint32_t f, std::mt19937& rng) {
  std::normal_distribution<float> d(0, 1);
  Case c{n, f, std::vector<float>(uint64_t(n) * f), {}};
  for (float& x : c.factors) x = d(rng);
  c.panel = make_panel(c.factors.data(), f, n);
  return c;
}

// Brute force in double: all eligible videos, best first, ties by index.
std::vector<Scored> reference(const Case& c, const float* q, const Exclusion& e, uint32_t k) {
  std::vector<std::pair<double, uint32_t>> all;
  for (uint32_t v = 0; v < c.n; ++v) {
    if (e.excludes(v)) continue;
    double s = 0;
    for (uint32_t j = 0; j < c.f; ++j) s += double(q[j]) * c.factors[uint64_t(v) * c.f + j];
    all.push_back({s, v});
  }
  std::sort(all.begin(), all.end(), [](auto& a, auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  std::vector<Scored> out;
  for (size_t i = 0; i < std::min<size_t>(k, all.size()); ++i)
    out.push_back({all[i].second, float(all[i].first)});
  return out;
}

// Random queries; odd ones block `blocked`, those not divisible by 3 skip `seen`.
struct Queries {
  std::vector<std::vector<float>> q;
  std::vector<const float*> pointers;
  std::vector<Exclusion> exclusions;
  Queries(uint32_t count, uint32_t f, std::mt19937& rng, const std::vector<uint8_t>& blocked,
          const std::vector<uint32_t>& seen)
      : q(count, std::vector<float>(f)), exclusions(count) {
    std::normal_distribution<float> d(0, 1);
    for (auto& v : q)
      for (float& x : v) x = d(rng);
    for (uint32_t i = 0; i < count; ++i) {
      pointers.push_back(q[i].data());
      if (i % 2) exclusions[i].blocked = blocked.data();
      if (i % 3) exclusions[i].seen_begin = seen.data(), exclusions[i].seen_end = seen.data() + seen.size();
    }
  }
};

}  // namespace

TEST_CASE("top_k matches a brute-force ranking", "[scoring]") {
  std::mt19937 rng(42);
  for (uint32_t n : {1u, 15u, 16u, 17u, 1000u, 4099u})
    for (uint32_t f : {1u, 7u, 64u}) {
      const Case c = make_case(n, f, rng);
      std::vector<uint8_t> blocked(n, 0);
      for (uint32_t v = 0; v < n; v += 7) blocked[v] = 1;
      std::vector<uint32_t> seen;
      for (uint32_t v = 3; v < n; v += 11) seen.push_back(v);
      const uint32_t count = 19;  // two blocks of eight and three singles
      Queries qs(count, f, rng, blocked, seen);
      const std::vector<const float*>& qp = qs.pointers;
      const std::vector<Exclusion>& ex = qs.exclusions;
      for (uint32_t k : {1u, 10u, n + 5}) {
        std::vector<std::vector<Scored>> got(count);
        top_k(c.view(), qp.data(), ex.data(), count, k, got.data());
        for (uint32_t i = 0; i < count; ++i) {
          INFO("n=" << n << " f=" << f << " k=" << k << " query " << i);
          const auto want = reference(c, qp[i], ex[i], k);
          REQUIRE(got[i].size() == want.size());
          for (size_t r = 0; r < want.size(); ++r) {
            CHECK(!ex[i].excludes(got[i][r].video));
            CHECK(got[i][r].score == Approx(want[r].score).margin(1e-4));
            if (r > 0) CHECK(got[i][r - 1].score >= got[i][r].score);
          }
          // Same video at each rank unless float rounding can reorder a near-tie.
          const auto longer = reference(c, qp[i], ex[i], k + 1);
          for (size_t r = 0; r < want.size(); ++r) {
            const bool tie_before = r > 0 && want[r - 1].score - want[r].score < 1e-4;
            const bool tie_after = r + 1 < longer.size() && want[r].score - longer[r + 1].score < 1e-4;
            if (!tie_before && !tie_after) CHECK(got[i][r].video == want[r].video);
          }
        }
      }
    }
}

TEST_CASE("batched and single scoring agree exactly", "[scoring]") {
  std::mt19937 rng(7);
  const Case c = make_case(777, 32, rng);
  std::vector<std::vector<float>> q(8, std::vector<float>(32));
  std::normal_distribution<float> d(0, 1);
  for (auto& v : q)
    for (float& x : v) x = d(rng);
  std::vector<const float*> qp;
  for (auto& v : q) qp.push_back(v.data());
  std::vector<Exclusion> ex(8);
  std::vector<std::vector<Scored>> batch(8), one(1);
  top_k(c.view(), qp.data(), ex.data(), 8, 20, batch.data());
  for (size_t i = 0; i < 8; ++i) {
    top_k(c.view(), &qp[i], &ex[i], 1, 20, one.data());
    REQUIRE(one[0].size() == batch[i].size());
    for (size_t r = 0; r < one[0].size(); ++r) {
      CHECK(one[0][r].video == batch[i][r].video);
      CHECK(one[0][r].score == batch[i][r].score);
    }
  }
}

TEST_CASE("norm-ordered pruned scoring answers exactly what top_k answers", "[scoring]") {
  std::mt19937 rng(9);
  std::lognormal_distribution<float> heavy(0, 1.5);  // long-tailed norms: pruning stops early
  for (uint32_t n : {1u, 17u, 1000u, 5003u})
    for (uint32_t f : {3u, 64u}) {
      Case c = make_case(n, f, rng);
      for (uint32_t v = 0; v < n; ++v) {
        const float scale = heavy(rng);
        for (uint32_t j = 0; j < f; ++j) c.factors[uint64_t(v) * f + j] *= scale;
      }
      // Exact ties: every tenth video repeats the one before it.
      for (uint32_t v = 1; v < n; v += 10)
        std::copy_n(&c.factors[uint64_t(v - 1) * f], f, &c.factors[uint64_t(v) * f]);
      c.panel = make_panel(c.factors.data(), f, n);
      const NormOrderedPanel ranked = NormOrderedPanel::build(c.factors.data(), f, n);
      std::vector<uint8_t> blocked(n, 0);
      for (uint32_t v = 0; v < n; v += 5) blocked[v] = 1;
      std::vector<uint32_t> seen;
      for (uint32_t v = 2; v < n; v += 9) seen.push_back(v);
      const uint32_t count = 19;
      Queries qs(count, f, rng, blocked, seen);
      qs.q[5] = qs.q[4];                                // the same query twice
      std::fill(qs.q[6].begin(), qs.q[6].end(), 0.0f);  // every score 0: all ties
      const std::vector<const float*>& qp = qs.pointers;
      const std::vector<Exclusion>& ex = qs.exclusions;
      for (uint32_t k : {1u, 10u, n + 5}) {
        std::vector<std::vector<Scored>> want(count), got(count);
        top_k(c.view(), qp.data(), ex.data(), count, k, want.data());
        top_k_pruned(ranked, qp.data(), ex.data(), count, k, got.data());
        for (uint32_t i = 0; i < count; ++i) {
          INFO("n=" << n << " f=" << f << " k=" << k << " query " << i);
          REQUIRE(got[i].size() == want[i].size());
          for (size_t r = 0; r < want[i].size(); ++r) {
            CHECK(got[i][r].video == want[i][r].video);
            CHECK(got[i][r].score == want[i][r].score);
          }
        }
      }
    }
}

TEST_CASE("ties go to the lower video index", "[scoring]") {
  const uint32_t n = 40, f = 1;
  std::vector<float> factors(n, 1.0f);  // every video scores the same
  const std::vector<float> panel = make_panel(factors.data(), f, n);
  const VideoPanel p{panel.data(), nullptr, n, panel_stride(n), f};
  const float q = 2.0f;
  const float* qp = &q;
  Exclusion e;
  std::vector<Scored> out;
  top_k(p, &qp, &e, 1, 5, &out);
  REQUIRE(out.size() == 5);
  for (uint32_t i = 0; i < 5; ++i) CHECK(out[i].video == i);
}

TEST_CASE("a per-video scale multiplies scores (cosine)", "[scoring]") {
  // Videos (1,0), (3,0), (0,2); query (1,1)/sqrt(2). Cosines: 0.7071, 0.7071, 0.7071
  // unscaled dots: 0.7071, 2.1213, 1.4142.
  const std::vector<float> factors = {1, 0, 3, 0, 0, 2};
  const std::vector<float> panel = make_panel(factors.data(), 2, 3);
  std::vector<float> inv(panel_stride(3), 0.0f);
  inv[0] = 1.0f, inv[1] = 1.0f / 3, inv[2] = 0.5f;
  const float q[2] = {0.70710678f, 0.70710678f};
  const float* qp = q;
  Exclusion e;
  std::vector<Scored> out;
  VideoPanel p{panel.data(), nullptr, 3, panel_stride(3), 2};
  top_k(p, &qp, &e, 1, 3, &out);
  CHECK(out[0].video == 1);
  CHECK(out[1].video == 2);
  p.scale = inv.data();
  top_k(p, &qp, &e, 1, 3, &out);
  for (const Scored& s : out) CHECK(s.score == Approx(0.70710678));
}

TEST_CASE("top_k hands back every score, the very values it ranked", "[scoring]") {
  std::mt19937 rng(3);
  for (uint32_t n : {17u, 1000u, 4099u})
    for (uint32_t f : {7u, 64u}) {
      const Case c = make_case(n, f, rng);
      std::vector<uint8_t> blocked(n, 0);
      for (uint32_t v = 0; v < n; v += 5) blocked[v] = 1;
      std::vector<uint32_t> seen;
      for (uint32_t v = 2; v < n; v += 9) seen.push_back(v);
      const uint32_t count = 19, k = 10;  // two blocks of eight and three singles
      Queries qs(count, f, rng, blocked, seen);
      std::vector<float> buffer(uint64_t(count) * panel_stride(n), -1.0f);
      std::vector<float*> scores;
      for (uint32_t i = 0; i < count; ++i) scores.push_back(buffer.data() + uint64_t(i) * panel_stride(n));
      std::vector<std::vector<Scored>> with(count), without(count);
      top_k(c.view(), qs.pointers.data(), qs.exclusions.data(), count, k, with.data(), scores.data());
      top_k(c.view(), qs.pointers.data(), qs.exclusions.data(), count, k, without.data());
      for (uint32_t i = 0; i < count; ++i) {
        INFO("n=" << n << " f=" << f << " query " << i);
        // Every video's score, excluded ones too, against a double reference.
        for (uint32_t v = 0; v < n; ++v) {
          double s = 0;
          for (uint32_t j = 0; j < f; ++j) s += double(qs.q[i][j]) * c.factors[uint64_t(v) * f + j];
          CHECK(scores[i][v] == Approx(s).margin(1e-4));
        }
        // The list is the eligible videos sorted by those very floats, ties
        // to the lower index; asking for the scores changes nothing.
        std::vector<uint32_t> order;
        for (uint32_t v = 0; v < n; ++v)
          if (!qs.exclusions[i].excludes(v)) order.push_back(v);
        std::stable_sort(order.begin(), order.end(),
                         [&](uint32_t a, uint32_t b) { return scores[i][a] > scores[i][b]; });
        REQUIRE(with[i].size() == std::min<size_t>(k, order.size()));
        REQUIRE(without[i].size() == with[i].size());
        for (size_t r = 0; r < with[i].size(); ++r) {
          CHECK(with[i][r].video == order[r]);
          CHECK(with[i][r].score == scores[i][order[r]]);
          CHECK(without[i][r].video == with[i][r].video);
          CHECK(without[i][r].score == with[i][r].score);
        }
      }
    }
}
