// SPDX-License-Identifier: MIT
// Small training problems shared by the ALS tests.
#pragma once
#include <armadillo>
#include <cstring>
#include <random>

#include "test_util.hpp"

namespace vidrec::test {

// Users prefer one of `groups` blocks of videos, so there is structure to fit.
inline OwnedCsr clustered_csr(uint32_t rows, uint32_t cols, uint32_t groups, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  OwnedCsr m;
  m.rows = rows;
  m.cols = cols;
  for (uint32_t r = 0; r < rows; ++r) {
    for (uint32_t c = 0; c < cols; ++c) {
      const bool liked = c % groups == r % groups;
      if (u01(rng) >= (liked ? 0.3 : 0.02)) continue;
      m.indices.push_back(c);
      m.values.push_back(float(1 + rng() % 3));
    }
    m.indptr.push_back(m.indices.size());
  }
  return m;
}

inline OwnedCsr transpose(const OwnedCsr& a) {
  OwnedCsr t;
  t.rows = a.cols;
  t.cols = a.rows;
  for (uint32_t c = 0; c < a.cols; ++c) {
    for (uint32_t r = 0; r < a.rows; ++r)
      for (uint64_t e = a.indptr[r]; e < a.indptr[r + 1]; ++e)
        if (a.indices[e] == c) {
          t.indices.push_back(r);
          t.values.push_back(a.values[e]);
        }
    t.indptr.push_back(t.indices.size());
  }
  return t;
}

inline bool bits_equal(const arma::fmat& a, const arma::fmat& b) {
  return a.n_rows == b.n_rows && a.n_cols == b.n_cols &&
         std::memcmp(a.memptr(), b.memptr(), a.n_elem * sizeof(float)) == 0;
}

}  // namespace vidrec::test
