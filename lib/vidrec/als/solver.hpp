// SPDX-License-Identifier: MIT
// One ALS half-sweep: given the other side's factors Y, re-solve the factors
// X of every row of a weight matrix M (user x video for the user side, its
// transpose for the video side). Row u minimises
//   sum_i c_ui (p_ui - x_u . y_i)^2 + lambda_u |x_u|^2
// whose normal equations are
//   (alpha0 YtY + Yt(C_u - alpha0 I)Y + lambda_u I) x_u = Yt C_u p_u
// (confidence c, preference p, alpha0 and lambda_u as in config.hpp).
//
// Layout: factor matrices are factors x n (one column per user or video, so
// each vector is contiguous), float32. Rows without a positive entry get
// x_u = 0 (exactly: their right-hand side is 0). Each row's result depends only on its own data, Y and the
// Gram matrix, so results are independent of the thread count and chunking (they may differ in the last bits
// between CPUs: the kernels are compiled for AVX-512, AVX2 and baseline x86-64 and the widest available one
// runs). No global state and no BLAS calls in the hot loops.
//   Solver::Cholesky  exact solve.
//   Solver::CG        cfg.cg_steps conjugate-gradient steps warm-started from
//                     the current x_u (as `implicit`'s least_squares_cg).
#pragma once
#include <armadillo>
#include <cstdint>
#include <vector>

#include "vidrec/als/config.hpp"
#include "vidrec/dataset/sparse.hpp"

namespace vidrec {

// Y * Y^T + ridge * I for factors Y (f x n): the blocks of gram_block(n)
// columns are added to zero in column order (gram_accumulate), so the result
// does not depend on `threads`, and ranks that own whole blocks reproduce it
// exactly by passing G along in rank order (als/distributed.hpp).
arma::fmat gram(const arma::fmat& Y, float ridge, unsigned threads);
// The system's shared part from G = gram(Y, 0): alpha0 G, plus lambda I when
// lambda is the same for every row (reg_exponent 0; else each row adds its
// own). With the defaults this is exactly gram(Y, lambda).
void finish_system_gram(arma::fmat& G, const AlsConfig& cfg);
// The Gram block size for n columns: a power of two in [64, 8192], a
// function of n only (never of threads or ranks).
uint32_t gram_block(uint64_t n);
// G += the Gram matrix of each `block` columns of Y in turn (the last block
// may be shorter).
void gram_accumulate(const arma::fmat& Y, uint32_t block, arma::fmat& G, unsigned threads);
// parts[i] = the Gram matrix of block first + i of Y alone, in parallel.
void gram_parts(const arma::fmat& Y, uint32_t block, uint64_t first, std::vector<arma::fmat>& parts,
                unsigned threads);

// Working memory of one thread, allocated once per half-sweep.
struct RowScratch {
  RowScratch(uint32_t factors, uint64_t max_row_nnz);
  std::vector<uint32_t> cols;  // listed columns of the current row
  std::vector<float> extra;    // their c - alpha0
  std::vector<float> target;   // their c * p
  std::vector<float> weights;  // per-entry coefficients of the current product
  std::vector<float> work;     // solver vectors, or the Cholesky system
};

// Solves rows [begin, end) of X (f x m.rows) given Y (f x m.cols) and
// gram_reg = gram(Y, 0, ...) after finish_system_gram. Only columns
// begin..end-1 of X are read (CG warm start) and written. other_rows: the
// other side's row count n of lambda_u (0 = m.cols; a renumbered m has fewer).
void solve_rows(const CsrView& m, const arma::fmat& Y, const arma::fmat& gram_reg, const AlsConfig& cfg,
                arma::fmat& X, uint32_t begin, uint32_t end, RowScratch& scratch, uint64_t other_rows = 0);

// All rows of X, in parallel on cfg.threads threads.
void solve_half_sweep(const CsrView& m, const arma::fmat& Y, arma::fmat& X, const AlsConfig& cfg);
// The same with the system's Gram matrix G (from all of Y) given: Y may then
// hold just the columns m references (m renumbered to them; other_rows then
// gives the true column count).
void solve_all_rows(const CsrView& m, const arma::fmat& Y, const arma::fmat& G, arma::fmat& X,
                    const AlsConfig& cfg, uint64_t other_rows = 0);

// Weighted training loss, as `implicit`'s calculate_loss:
//   [sum_{u,i} c_ui (p_ui - x_u.y_i)^2 + sum_u lambda_u|x_u|^2 + sum_i lambda_i|y_i|^2]
//   / sum_{u,i} c_ui
// over all users x videos (unobserved pairs: c = alpha0, p = 0), computed in
// O(nnz * f + (users + videos) * f^2) with the Gram-matrix trick.
// Deterministic for any thread count.
double training_loss(const CsrView& user_items, const CsrView& item_users, const arma::fmat& user_factors,
                     const arma::fmat& item_factors, const AlsConfig& cfg);

// training_loss in parts, for callers that hold the rows in pieces: sums
// added row chunk by row chunk (64 rows) in order, then the item norms.
struct LossSums {
  double loss = 0.0, confidence = 0.0, item_norm = 0.0, item_reg = 0.0;
  uint64_t observed = 0;
};
// item_gram = gram(item_factors, 0, ...); other_rows as in solve_rows.
void add_loss_rows(const CsrView& user_items, const arma::fmat& user_factors, const arma::fmat& item_factors,
                   const arma::fmat& item_gram, const AlsConfig& cfg, LossSums& sums,
                   uint64_t other_rows = 0);
// item_users: the rows of item_factors' videos (their positive counts).
void add_item_norms(const CsrView& item_users, const arma::fmat& item_factors, const AlsConfig& cfg,
                    uint64_t users, LossSums& sums);
double finish_loss(const LossSums& sums, uint64_t users, uint64_t videos, const AlsConfig& cfg);

}  // namespace vidrec
