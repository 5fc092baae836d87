// SPDX-License-Identifier: MIT
// Exact sums of doubles, kept as an unevaluated pair hi + lo (double-double)
// with error-free transformations (TwoSum: Knuth; Ogita, Rump and Oishi,
// "Accurate sum and dot product", 2005), so that a sum does not depend on the
// order or grouping of its additions.
//
// Contract
// - ExactSum::add() of a double and of another ExactSum keep hi + lo equal to the
//   exact sum of every double added, provided every term is a multiple of
//   2^-k and the sum of their magnitudes is below 2^m with m + k <= 100
//   (the proof below needs m + k <= 104; 4 bits are margin). A double w is a
//   multiple of 2^(e-52), e = floor(log2 |w|), so: when every nonzero |w| is
//   at least 2^-j, the sums are exact while sum |w| < 2^(48-j). E.g. weights
//   of 0.001 and up (j = 10) are exact up to sum |w| = 2^38 (2.7e11); 1 and
//   up, to 2^48.
// - An exact sum is held canonically: hi = the double nearest it (ties to
//   even), lo = the rest, exactly. Equal sums are equal bits (zero is +0,
//   +0), whatever the order and grouping of the additions.
// - to_float() rounds hi + lo to float once (nearest, ties to even), not
//   float(hi + lo) (two roundings); exceeds() compares |hi + lo| exactly.
// - Needs IEEE double arithmetic rounded to nearest, without -ffast-math
//   (which may fold the error terms to zero).
//
// Why exact: every value computed is a multiple of 2^-k (a rounded multiple
// of 2^-k is one again), so a value below 2^(53-k) in magnitude is a double.
// Partial sums are below 2^m, so |lo| <= 2^(m-53) and the error of adding
// two his is at most 2^(m-52); the sum of the los and that error, the only
// rounded operation, stays below 2^(m-51) <= 2^(53-k), hence exact. The
// final TwoSum puts the exact total into canonical form.
#pragma once
#include <cmath>

namespace vidrec {

struct ExactSum {
  double hi = 0, lo = 0;

  // {s, e}: s = a + b rounded, e = a + b - s exactly.
  static ExactSum two_sum(double a, double b) {
    const double s = a + b, bb = s - a;
    return {s, (a - (s - bb)) + (b - bb)};
  }
  void add(double x) {
    const ExactSum s = two_sum(hi, x);
    *this = two_sum(s.hi, s.lo + lo);
  }
  void add(const ExactSum& x) {
    const ExactSum s = two_sum(hi, x.hi);
    *this = two_sum(s.hi, s.lo + (lo + x.lo));
  }
};

// |hi + lo| > limit, for a limit that is a double.
inline bool exceeds(const ExactSum& s, double limit) {
  const double a = std::fabs(s.hi), lo = s.hi < 0 ? -s.lo : s.lo;  // lo's sign as if hi >= 0
  return a > limit || (a == limit && lo > 0);
}

// hi + lo rounded to float, nearest, ties to even; |hi + lo| within float's range.
inline float to_float(const ExactSum& s) {
  const float f = float(s.hi);
  if (double(f) == s.hi || s.lo == 0) return f;
  // hi lies between f and its other neighbour g; lo matters only when hi is
  // their midpoint (f + g is exact in double: two floats a step apart).
  const float g = std::nextafter(f, s.hi > double(f) ? INFINITY : -INFINITY);
  if (double(f) + double(g) != 2 * s.hi) return f;
  return (s.lo > 0) == (g > f) ? g : f;
}

}  // namespace vidrec
