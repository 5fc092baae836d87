// SPDX-License-Identifier: MIT
#include "vidrec/als/solver.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "vidrec/base/parallel.hpp"
#include "vidrec/base/simd.hpp"

namespace vidrec {

namespace {

using namespace simd;

VIDREC_KERNEL float dot(const float* a, const float* b, uint32_t n) {
  v16 acc0{}, acc1{};  // two chains hide the add latency
  uint32_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 += load(a + i) * load(b + i);
    acc1 += load(a + i + 16) * load(b + i + 16);
  }
  if (i + 16 <= n) {
    acc0 += load(a + i) * load(b + i);
    i += 16;
  }
  float s = hsum(acc0 + acc1);
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

VIDREC_KERNEL void axpy(float a, const float* x, float* y, uint32_t n) {
  uint32_t i = 0;
  for (; i + 16 <= n; i += 16) store(y + i, load(y + i) + a * load(x + i));
  for (; i < n; ++i) y[i] += a * x[i];
}

// Starts loading the factor vectors of row r's first entries: the first
// touch of each is a cache miss, which this overlaps with the row before.
VIDREC_KERNEL void prefetch_row(const CsrView& m, uint32_t r, const float* Y, uint32_t f) {
  if (r >= m.rows) return;
  const uint64_t end = std::min(m.row_end(r), m.row_begin(r) + 32);
  for (uint64_t e = m.row_begin(r); e < end; ++e)
    for (uint32_t i = 0; i < f; i += 16) __builtin_prefetch(Y + size_t(m.indices[e]) * f + i);
}

// Rows [i, i + 16B) of accumulate(), held in registers across all columns:
// a column-at-a-time axpy would instead stall on store-to-load forwarding.
template <int B>
VIDREC_KERNEL void accumulate_rows(uint32_t i, const float* G, uint32_t g_cols, const float* a, float scale,
                                   const float* Y, const uint32_t* cols, const float* w, uint32_t k,
                                   float* out, uint32_t f) {
  v16 acc[B] = {};
  for (uint32_t j = 0; j < g_cols; ++j) {
    const float* col = G + size_t(j) * f + i;
    const float s = scale * a[j];
    for (int b = 0; b < B; ++b) acc[b] += load(col + 16 * b) * s;
  }
  for (uint32_t j = 0; j < k; ++j) {
    const float* col = Y + size_t(cols[j]) * f + i;
    for (int b = 0; b < B; ++b) acc[b] += load(col + 16 * b) * w[j];
  }
  for (int b = 0; b < B; ++b) store(out + i + 16 * b, acc[b]);
}

// out = scale * G[:, 0..g_cols) a + sum_j w[j] * Y[:, cols[j]], where G and Y
// are column-major with f rows.
VIDREC_KERNEL void accumulate(const float* G, uint32_t g_cols, const float* a, float scale, const float* Y,
                              const uint32_t* cols, const float* w, uint32_t k, float* out, uint32_t f) {
  uint32_t i = 0;
  for (; i + 64 <= f; i += 64) accumulate_rows<4>(i, G, g_cols, a, scale, Y, cols, w, k, out, f);
  for (; i + 16 <= f; i += 16) accumulate_rows<1>(i, G, g_cols, a, scale, Y, cols, w, k, out, f);
  for (; i < f; ++i) {
    float s = 0.0f;
    for (uint32_t j = 0; j < g_cols; ++j) s += scale * a[j] * G[size_t(j) * f + i];
    for (uint32_t j = 0; j < k; ++j) s += w[j] * Y[size_t(cols[j]) * f + i];
    out[i] = s;
  }
}

// The entries of row r that differ from an unobserved pair (see config.hpp):
// their columns, c - alpha0 (s.extra) and c * p (s.target).
struct RowEntries {
  uint32_t k = 0;          // entries listed
  uint32_t positives = 0;  // of which w > 0 (p = 1)
  float ridge = 0.0f;      // lambda_r beyond the ridge already in G (reg_exponent > 0)
};

VIDREC_KERNEL RowEntries observed(const CsrView& m, uint32_t r, const AlsConfig& cfg, uint64_t other_rows,
                                  RowScratch& s) {
  RowEntries row;
  const float a0 = cfg.unobserved_weight;
  for (uint64_t e = m.row_begin(r); e < m.row_end(r); ++e) {
    const float w = m.values[e];
    if (w > 0.0f) {
      const float c = cfg.confidence_of(w);
      s.extra[row.k] = c - a0;
      s.target[row.k] = c;
      ++row.positives;
    } else if (w < 0.0f && cfg.negative_weight > 0.0f) {
      s.extra[row.k] = cfg.negative_weight * (cfg.confidence_of(-w) - 1.0f);
      s.target[row.k] = 0.0f;
    } else {
      continue;  // w = 0, NaN, or an ignored negative: an unobserved pair
    }
    s.cols[row.k++] = m.indices[e];
  }
  if (cfg.reg_exponent != 0.0f) row.ridge = float(cfg.row_regularization(row.positives, other_rows));
  return row;
}

// Conjugate gradient on A x = b with A = G + sum_j (c_j - 1) y_j y_j^T and
// b = sum_j c_j y_j, G = YtY + lambda I; same steps and stopping rule as
// implicit's least_squares_cg, without ever forming A.
VIDREC_HOT void cg_rows(const CsrView& m, const float* Y, const float* G, const AlsConfig& cfg,
                        uint64_t other_rows, float* X, uint32_t begin, uint32_t end, RowScratch& s) {
  const uint32_t f = cfg.factors;
  float* r = s.work.data();
  float* p = r + f;
  float* Ap = p + f;
  const uint32_t* cols = s.cols.data();
  const float* extra = s.extra.data();
  const float* target = s.target.data();
  float* w = s.weights.data();
  for (uint32_t u = begin; u < end; ++u) {
    float* x = X + size_t(u) * f;
    const RowEntries row = observed(m, u, cfg, other_rows, s);
    const uint32_t k = row.k;
    if (row.positives == 0) {  // b = 0: the exact solution is 0
      std::fill(x, x + f, 0.0f);
      continue;
    }
    prefetch_row(m, u + 1, Y, f);
    // r = b - A x = -G x - ridge x + sum_j (c_j p_j - (c_j - alpha0) y_j.x) y_j
    for (uint32_t j = 0; j < k; ++j) {
      if (j + 8 < k)
        for (uint32_t i = 0; i < f; i += 16) __builtin_prefetch(Y + size_t(cols[j + 8]) * f + i);
      w[j] = target[j] - extra[j] * dot(Y + size_t(cols[j]) * f, x, f);
    }
    accumulate(G, f, x, -1.0f, Y, cols, w, k, r, f);
    if (row.ridge != 0.0f) axpy(-row.ridge, x, r, f);
    std::copy(r, r + f, p);
    float rsold = dot(r, r, f);
    if (rsold < 1e-20f) continue;
    for (uint32_t step = 0; step < cfg.cg_steps; ++step) {
      for (uint32_t j = 0; j < k; ++j) w[j] = extra[j] * dot(Y + size_t(cols[j]) * f, p, f);
      accumulate(G, f, p, 1.0f, Y, cols, w, k, Ap, f);
      if (row.ridge != 0.0f) axpy(row.ridge, p, Ap, f);
      const float alpha = rsold / dot(p, Ap, f);
      axpy(alpha, p, x, f);
      axpy(-alpha, Ap, r, f);
      const float rsnew = dot(r, r, f);
      if (rsnew < 1e-20f) break;
      const float beta = rsnew / rsold;
      for (uint32_t i = 0; i < f; ++i) p[i] = r[i] + beta * p[i];
      rsold = rsnew;
    }
  }
}

// Solves A x = b in place for symmetric positive definite A; only the lower
// triangle is read and the upper one is scratch. A pivot <= 0 means A is not
// SPD in float arithmetic; x becomes NaN so the trainer's non-finite check
// reports it.
VIDREC_KERNEL void cholesky_solve(float* A, float* b, float* x, uint32_t f) {
  for (uint32_t j = 0; j < f; ++j) {
    float* col = A + size_t(j) * f;
    if (!(col[j] > 0.0f)) {
      std::fill(x, x + f, std::numeric_limits<float>::quiet_NaN());
      return;
    }
    const float inv = 1.0f / std::sqrt(col[j]);
    for (uint32_t i = j + 1; i < f; ++i) col[i] *= inv;
    col[j] *= inv;
    // Trailing update from a 16-aligned row: the extra rows above the
    // diagonal only touch the unread upper triangle, and the loops stay
    // whole vectors.
    const uint32_t start = (j + 1) & ~15u;
    for (uint32_t c = j + 1; c < f; ++c) axpy(-col[c], col + start, A + size_t(c) * f + start, f - start);
  }
  for (uint32_t j = 0; j < f; ++j) {  // L z = b
    const float* col = A + size_t(j) * f;
    b[j] /= col[j];
    axpy(-b[j], col + j + 1, b + j + 1, f - j - 1);
  }
  for (uint32_t j = f; j-- > 0;) {  // L^T x = z
    const float* col = A + size_t(j) * f;
    x[j] = (b[j] - dot(col + j + 1, x + j + 1, f - j - 1)) / col[j];
  }
}

VIDREC_HOT void cholesky_rows(const CsrView& m, const float* Y, const float* G, const AlsConfig& cfg,
                              uint64_t other_rows, float* X, uint32_t begin, uint32_t end, RowScratch& s) {
  const uint32_t f = cfg.factors;
  float* A = s.work.data();
  float* b = A + size_t(f) * f;
  const uint32_t* cols = s.cols.data();
  const float* extra = s.extra.data();
  float* w = s.weights.data();
  const float one = 1.0f;
  for (uint32_t u = begin; u < end; ++u) {
    float* x = X + size_t(u) * f;
    const RowEntries row = observed(m, u, cfg, other_rows, s);
    const uint32_t k = row.k;
    if (row.positives == 0) {  // b = 0: the exact solution is 0
      std::fill(x, x + f, 0.0f);
      continue;
    }
    prefetch_row(m, u + 1, Y, f);
    // A[:, a] = G[:, a] + sum_j (c_j - alpha0) y_j[a] y_j, over chunks of
    // entries small enough to stay in cache while every column a passes over them.
    std::copy(G, G + size_t(f) * f, A);
    if (row.ridge != 0.0f)
      for (uint32_t a = 0; a < f; ++a) A[size_t(a) * f + a] += row.ridge;
    constexpr uint32_t kChunk = 128;
    for (uint32_t j0 = 0; j0 < k; j0 += kChunk) {
      const uint32_t n = std::min(kChunk, k - j0);
      for (uint32_t a = 0; a < f; ++a) {
        for (uint32_t j = j0; j < j0 + n; ++j) w[j] = extra[j] * Y[size_t(cols[j]) * f + a];
        float* column = A + size_t(a) * f;
        accumulate(column, 1, &one, 1.0f, Y, cols + j0, w + j0, n, column, f);
      }
    }
    // b = sum_j c_j p_j y_j
    accumulate(nullptr, 0, nullptr, 0.0f, Y, cols, s.target.data(), k, b, f);
    cholesky_solve(A, b, x, f);
  }
}

// G[:, a..a+C) += Y[:, n0..n1) Y[a..a+C, n0..n1)^T for rows i..i+16R of G,
// accumulated in registers (the register tile of a GEMM micro-kernel).
template <int R, int C>
VIDREC_KERNEL void gram_tile(const float* Y, uint32_t f, uint64_t n0, uint64_t n1, uint32_t i, uint32_t a,
                             float* G) {
  v16 acc[C][R] = {};
  for (uint64_t n = n0; n < n1; ++n) {
    const float* y = Y + n * f;
    v16 rows[R];
    for (int r = 0; r < R; ++r) rows[r] = load(y + i + 16 * r);
    for (int c = 0; c < C; ++c)
      for (int r = 0; r < R; ++r) acc[c][r] += rows[r] * y[a + c];
  }
  for (int c = 0; c < C; ++c)
    for (int r = 0; r < R; ++r) {
      float* g = G + size_t(a + c) * f + i + 16 * r;
      store(g, load(g) + acc[c][r]);
    }
}

template <int R>
VIDREC_KERNEL void gram_rows(const float* Y, uint32_t f, uint64_t n0, uint64_t n1, uint32_t i, float* G) {
  uint32_t a = 0;
  for (; a + 4 <= f; a += 4) gram_tile<R, 4>(Y, f, n0, n1, i, a, G);
  for (; a < f; ++a) gram_tile<R, 1>(Y, f, n0, n1, i, a, G);
}

// G += Y[:, first..first+count) times its transpose, f x f, column-major.
VIDREC_HOT void gram_add(const float* Y, uint32_t f, uint64_t first, uint64_t count, float* G) {
  constexpr uint64_t kPanel = 128;  // columns per pass: the panel stays in L1/L2
  for (uint64_t n0 = first; n0 < first + count; n0 += kPanel) {
    const uint64_t n1 = std::min(n0 + kPanel, first + count);
    uint32_t i = 0;
    for (; i + 64 <= f; i += 64) gram_rows<4>(Y, f, n0, n1, i, G);
    for (; i + 16 <= f; i += 16) gram_rows<1>(Y, f, n0, n1, i, G);
    for (; i < f; ++i)
      for (uint32_t a = 0; a < f; ++a) {
        float sum = 0.0f;
        for (uint64_t n = n0; n < n1; ++n) sum += Y[n * f + i] * Y[n * f + a];
        G[size_t(a) * f + i] += sum;
      }
  }
}

struct LossPart {
  double loss = 0.0;        // sum over the rows of the weighted squared error + lambda|x|^2
  double confidence = 0.0;  // sum of c over listed entries
  uint64_t observed = 0;    // listed entries
};

// Per row u: alpha0 x^T YtY x + sum_listed [(c - alpha0)(x.y)^2 - 2cp (x.y)
// + cp] (p in {0, 1}), which equals sum over all columns of c (p - x.y)^2.
VIDREC_HOT void loss_rows(const CsrView& m, const float* Y, const float* G, const AlsConfig& cfg,
                          uint64_t other_rows, const float* X, uint32_t begin, uint32_t end, RowScratch& s,
                          LossPart& part) {
  const uint32_t f = cfg.factors;
  float* r = s.work.data();
  for (uint32_t u = begin; u < end; ++u) {
    const float* x = X + size_t(u) * f;
    accumulate(G, f, x, 1.0f, nullptr, nullptr, nullptr, 0, r, f);
    const RowEntries row = observed(m, u, cfg, other_rows, s);
    const double lambda = row.ridge != 0.0f ? double(row.ridge) : double(cfg.regularization);
    double loss = double(cfg.unobserved_weight) * double(dot(r, x, f)) + lambda * dot(x, x, f);
    for (uint32_t j = 0; j < row.k; ++j) {
      const double d = dot(Y + size_t(s.cols[j]) * f, x, f);
      const double extra = s.extra[j], target = s.target[j];
      loss += extra * d * d - 2.0 * target * d + target;
      part.confidence += extra + double(cfg.unobserved_weight);
    }
    part.loss += loss;
    part.observed += row.k;
  }
}

void check_shapes(const CsrView& m, const arma::fmat& Y, const arma::fmat& X, const AlsConfig& cfg) {
  if (X.n_rows != cfg.factors || Y.n_rows != cfg.factors || X.n_cols != m.rows || Y.n_cols != m.cols)
    throw std::invalid_argument("ALS factor shapes do not match the matrix: X " + std::to_string(X.n_rows) +
                                "x" + std::to_string(X.n_cols) + ", Y " + std::to_string(Y.n_rows) + "x" +
                                std::to_string(Y.n_cols) + ", matrix " + std::to_string(m.rows) + "x" +
                                std::to_string(m.cols));
}

uint64_t max_row_nnz(const CsrView& m) {
  uint64_t most = 0;
  for (uint32_t r = 0; r < m.rows; ++r) most = std::max(most, m.row_end(r) - m.row_begin(r));
  return most;
}

constexpr uint64_t kRowGrain = 64;  // rows per parallel_for chunk

}  // namespace

RowScratch::RowScratch(uint32_t factors, uint64_t max_row_nnz)
    : cols(max_row_nnz),
      extra(max_row_nnz),
      target(max_row_nnz),
      weights(max_row_nnz),
      work(size_t(factors) * (factors + 3)) {}

uint32_t gram_block(uint64_t n) {
  uint64_t block = 64;
  while (block < 8192 && block * 256 < n) block *= 2;
  return uint32_t(block);
}

void gram_parts(const arma::fmat& Y, uint32_t block, uint64_t first, std::vector<arma::fmat>& parts,
                unsigned threads) {
  const auto f = uint32_t(Y.n_rows);
  const uint64_t n = Y.n_cols;
  parallel_for(
      parts.size(), threads,
      [&](uint64_t b, uint64_t e, unsigned) {
        for (; b < e; ++b) {
          const uint64_t col = (first + b) * block;
          parts[b].zeros(f, f);
          gram_add(Y.memptr(), f, col, std::min<uint64_t>(block, n - col), parts[b].memptr());
        }
      },
      1);
}

void gram_accumulate(const arma::fmat& Y, uint32_t block, arma::fmat& G, unsigned threads) {
  const uint64_t blocks = (Y.n_cols + block - 1) / block;
  if (G.n_rows != Y.n_rows || G.n_cols != Y.n_rows)
    throw std::invalid_argument("gram_accumulate: G is not f x f");
  // Waves of blocks computed in parallel, then added in block order: the
  // same bits for any thread count, in memory bounded by the wave.
  const uint64_t wave = 4 * uint64_t(resolve_threads(threads));
  std::vector<arma::fmat> parts;
  for (uint64_t first = 0; first < blocks; first += wave) {
    parts.resize(std::min(wave, blocks - first));
    gram_parts(Y, block, first, parts, threads);
    for (const arma::fmat& p : parts) G += p;
  }
}

arma::fmat gram(const arma::fmat& Y, float ridge, unsigned threads) {
  arma::fmat G(Y.n_rows, Y.n_rows, arma::fill::zeros);
  gram_accumulate(Y, gram_block(Y.n_cols), G, threads);
  G.diag() += ridge;
  return G;
}

void finish_system_gram(arma::fmat& G, const AlsConfig& cfg) {
  if (cfg.unobserved_weight != 1.0f) G *= cfg.unobserved_weight;
  if (cfg.reg_exponent == 0.0f) G.diag() += cfg.regularization;
}

void solve_rows(const CsrView& m, const arma::fmat& Y, const arma::fmat& gram_reg, const AlsConfig& cfg,
                arma::fmat& X, uint32_t begin, uint32_t end, RowScratch& scratch, uint64_t other_rows) {
  check_shapes(m, Y, X, cfg);
  if (begin > end || end > m.rows)
    throw std::invalid_argument("solve_rows: bad row range [" + std::to_string(begin) + ", " +
                                std::to_string(end) + ") of " + std::to_string(m.rows));
  if (other_rows == 0) other_rows = m.cols;
  if (cfg.solver == AlsConfig::Solver::CG)
    cg_rows(m, Y.memptr(), gram_reg.memptr(), cfg, other_rows, X.memptr(), begin, end, scratch);
  else
    cholesky_rows(m, Y.memptr(), gram_reg.memptr(), cfg, other_rows, X.memptr(), begin, end, scratch);
}

void solve_half_sweep(const CsrView& m, const arma::fmat& Y, arma::fmat& X, const AlsConfig& cfg) {
  check_shapes(m, Y, X, cfg);
  arma::fmat G = gram(Y, 0.0f, cfg.threads);
  finish_system_gram(G, cfg);
  solve_all_rows(m, Y, G, X, cfg);
}

void solve_all_rows(const CsrView& m, const arma::fmat& Y, const arma::fmat& G, arma::fmat& X,
                    const AlsConfig& cfg, uint64_t other_rows) {
  check_shapes(m, Y, X, cfg);
  std::vector<RowScratch> scratch(resolve_threads(cfg.threads), RowScratch(cfg.factors, max_row_nnz(m)));
  parallel_for(
      m.rows, cfg.threads,
      [&](uint64_t b, uint64_t e, unsigned id) {
        solve_rows(m, Y, G, cfg, X, uint32_t(b), uint32_t(e), scratch[id], other_rows);
      },
      kRowGrain);
}

void add_loss_rows(const CsrView& user_items, const arma::fmat& user_factors, const arma::fmat& item_factors,
                   const arma::fmat& item_gram, const AlsConfig& cfg, LossSums& sums, uint64_t other_rows) {
  check_shapes(user_items, item_factors, user_factors, cfg);
  const CsrView& m = user_items;
  std::vector<RowScratch> scratch(resolve_threads(cfg.threads), RowScratch(cfg.factors, max_row_nnz(m)));
  // One partial per fixed chunk, added in order: deterministic.
  std::vector<LossPart> parts((uint64_t(m.rows) + kRowGrain - 1) / kRowGrain);
  parallel_for(
      m.rows, cfg.threads,
      [&](uint64_t b, uint64_t e, unsigned id) {
        loss_rows(m, item_factors.memptr(), item_gram.memptr(), cfg, other_rows ? other_rows : m.cols,
                  user_factors.memptr(), uint32_t(b), uint32_t(e), scratch[id], parts[b / kRowGrain]);
      },
      kRowGrain);
  for (const auto& p : parts) {
    sums.loss += p.loss;
    sums.confidence += p.confidence;
    sums.observed += p.observed;
  }
}

void add_item_norms(const CsrView& item_users, const arma::fmat& item_factors, const AlsConfig& cfg,
                    uint64_t users, LossSums& sums) {
  if (cfg.reg_exponent == 0.0f) {
    for (const float v : item_factors) sums.item_norm += double(v) * v;
    return;
  }
  for (uint32_t i = 0; i < item_factors.n_cols; ++i) {
    uint64_t positives = 0;
    for (uint64_t e = item_users.row_begin(i); e < item_users.row_end(i); ++e)
      positives += item_users.values[e] > 0.0f;
    double norm = 0.0;
    for (const float v : item_factors.col(i)) norm += double(v) * v;
    sums.item_reg += cfg.row_regularization(positives, users) * norm;
  }
}

double finish_loss(const LossSums& sums, uint64_t users, uint64_t videos, const AlsConfig& cfg) {
  const double loss = sums.loss + double(cfg.regularization) * sums.item_norm + sums.item_reg;
  const double weight = sums.confidence + double(cfg.unobserved_weight) *
                                              (double(users) * double(videos) - double(sums.observed));
  return weight > 0.0 ? loss / weight : 0.0;
}

double training_loss(const CsrView& user_items, const CsrView& item_users, const arma::fmat& user_factors,
                     const arma::fmat& item_factors, const AlsConfig& cfg) {
  LossSums sums;
  add_loss_rows(user_items, user_factors, item_factors, gram(item_factors, 0.0f, cfg.threads), cfg, sums);
  add_item_norms(item_users, item_factors, cfg, user_items.rows, sums);
  return finish_loss(sums, user_items.rows, user_items.cols, cfg);
}

}  // namespace vidrec
