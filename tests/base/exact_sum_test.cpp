// SPDX-License-Identifier: MIT
#include "vidrec/base/exact_sum.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace vidrec;

namespace {

// The reference: weights that are multiples of 2^-kScale summed as integers.
constexpr int kScale = 62;

__int128 scaled(double w) {
  const double s = std::ldexp(w, kScale);
  REQUIRE(s == std::trunc(s));
  return __int128(s);
}

__int128 exact_scaled(const std::vector<double>& ws) {
  __int128 n = 0;
  for (const double w : ws) n += scaled(w);
  return n;
}

// Odd trials: n * 2^-s, n of up to 30 bits either sign, s in [20, 60]
// (sum |w| < 2^24, m + k = 84). Even trials: decimals not exact in binary,
// all >= 2^-10, so multiples of 2^-62 (sum < 2^20, m + k = 82).
std::vector<double> weights(std::mt19937_64& rng, int trial, size_t n) {
  static const double kDecimals[] = {0.1, 0.3, 0.7, 1e-3, 123.456};
  std::vector<double> ws(n);
  for (double& w : ws) {
    if (trial % 2 == 0) {
      w = kDecimals[rng() % 5];
    } else {
      const int64_t m = int64_t(rng() % (uint64_t(1) << 31)) - (int64_t(1) << 30);
      w = std::ldexp(double(m), -int(20 + rng() % 41));
    }
  }
  return ws;
}

ExactSum in_order(const std::vector<double>& ws) {
  ExactSum s;
  for (const double w : ws) s.add(w);
  return s;
}

// Sums [b, e) by splitting at random points, each half summed on its own.
ExactSum tree(const double* b, const double* e, std::mt19937_64& rng) {
  if (e - b <= 3) return in_order(std::vector<double>(b, e));
  const double* mid = b + 1 + rng() % uint64_t(e - b - 1);
  ExactSum s = tree(b, mid, rng);
  s.add(tree(mid, e, rng));
  return s;
}

bool same_bits(const ExactSum& a, const ExactSum& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("an exact sum holds the integer-scaled sum, in canonical form", "[base][exact_sum]") {
  std::mt19937_64 rng(1);
  for (int trial = 0; trial < 40; ++trial) {
    const std::vector<double> ws = weights(rng, trial, 10000);
    const __int128 n = exact_scaled(ws);
    const ExactSum s = in_order(ws);
    CHECK(scaled(s.hi) + scaled(s.lo) == n);
    CHECK(s.hi == std::ldexp(double(n), -kScale));  // the nearest double: double(__int128) rounds once
    CHECK(to_float(s) == std::ldexp(float(n), -kScale));
  }
}

TEST_CASE("permutations and groupings of the additions give the same bits", "[base][exact_sum]") {
  std::mt19937_64 rng(2);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<double> ws = weights(rng, trial, 5000);
    const ExactSum ref = in_order(ws);
    for (int k = 0; k < 5; ++k) {
      std::shuffle(ws.begin(), ws.end(), rng);
      const ExactSum a = in_order(ws), b = tree(ws.data(), ws.data() + ws.size(), rng);
      CHECK(same_bits(a, ref));
      CHECK(same_bits(b, ref));
    }
  }
  // Plain double sums of these depend on the order: 0.1 + 0.2 + 0.3 != 0.3 + 0.2 + 0.1.
  ExactSum a, b;
  for (const double w : {0.1, 0.2, 0.3}) a.add(w);
  for (const double w : {0.3, 0.2, 0.1}) b.add(w);
  CHECK(same_bits(a, b));
  CHECK(0.1 + 0.2 + 0.3 != 0.3 + 0.2 + 0.1);
}

TEST_CASE("a zero sum is +0, +0", "[base][exact_sum]") {
  ExactSum s;
  for (const double w : {0.1, 0.7, -0.1, -0.0, -0.7}) s.add(w);
  CHECK(same_bits(s, ExactSum{}));
}

TEST_CASE("to_float rounds hi + lo once: lo breaks a tie float(hi) would round to even",
          "[base][exact_sum]") {
  const double up = 0x1p-70;  // far below a double step of hi
  // 1 + 2^-24: halfway between 1 and 1 + 2^-23 (even: 1).
  CHECK(to_float({1 + 0x1p-24, 0}) == 1.0f);
  CHECK(to_float({1 + 0x1p-24, up}) == 1 + 0x1p-23f);
  CHECK(to_float({1 + 0x1p-24, -up}) == 1.0f);
  // 1 + 3 * 2^-24: halfway between 1 + 2^-23 and 1 + 2^-22 (even: the upper).
  CHECK(to_float({1 + 3 * 0x1p-24, 0}) == 1 + 0x1p-22f);
  CHECK(to_float({1 + 3 * 0x1p-24, up}) == 1 + 0x1p-22f);
  CHECK(to_float({1 + 3 * 0x1p-24, -up}) == 1 + 0x1p-23f);
  // Negative: the mirror.
  CHECK(to_float({-(1 + 0x1p-24), -up}) == -(1 + 0x1p-23f));
  CHECK(to_float({-(1 + 0x1p-24), up}) == -1.0f);
  CHECK(to_float({-(1 + 0x1p-24), 0}) == -1.0f);
  // Below 1 (float step 2^-24 in [0.5, 1)): 1 - 2^-25 is halfway between 1 - 2^-24 and 1.
  CHECK(to_float({1 - 0x1p-25, 0}) == 1.0f);
  CHECK(to_float({1 - 0x1p-25, -up}) == 1 - 0x1p-24f);
  // Not a tie: lo cannot move hi across a midpoint.
  CHECK(to_float({1 + 0x1p-25, up}) == 1.0f);
  CHECK(to_float({1 + 0x1p-23, -up}) == 1 + 0x1p-23f);
  // Subnormal floats: halfway between 0 and the smallest, 2^-149.
  CHECK(to_float({0x1p-150, 0}) == 0.0f);
  CHECK(to_float({0x1p-150, 0x1p-200}) == 0x1p-149f);
  // float(hi + lo) rounds twice: the double 1 + 2^-24, then to even.
  CHECK(float(1 + 0x1p-24 + up) == 1.0f);
}

TEST_CASE("to_float matches one rounding of the exact value at random midpoints", "[base][exact_sum]") {
  // hi = a float midpoint, lo = k * 2^(e - 58): hi + lo has at most 60
  // significant bits, so long double holds it exactly and float() of it
  // rounds once.
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<float> any(-1e30f, 1e30f);
  for (int i = 0; i < 100000; ++i) {
    const float f = any(rng);
    const double hi = (double(f) + double(std::nextafter(f, INFINITY))) / 2;
    const double lo = std::ldexp(double(int(rng() % 33) - 16), std::ilogb(hi) - 58);
    const ExactSum s = ExactSum::two_sum(hi, lo);  // canonical
    CHECK(to_float(s) == float((long double)s.hi + (long double)s.lo));
  }
}

TEST_CASE("exceeds compares the exact sum with the limit", "[base][exact_sum]") {
  const double m = FLT_MAX, tiny = 0x1p-10;
  CHECK_FALSE(exceeds({m, 0}, FLT_MAX));
  CHECK(exceeds({m, tiny}, FLT_MAX));
  CHECK_FALSE(exceeds({m, -tiny}, FLT_MAX));
  CHECK(exceeds({-m, -tiny}, FLT_MAX));
  CHECK_FALSE(exceeds({-m, tiny}, FLT_MAX));
  CHECK(exceeds({2 * m, -tiny}, FLT_MAX));
  CHECK_FALSE(exceeds({1, 0}, FLT_MAX));
}
