// SPDX-License-Identifier: MIT
// Implicit ALS over the ranks of a distributed job (`mpirun -np N vidrec
// train`), after Spark MLlib's blocked ALS: each rank holds only its block of
// the matrix and the factor rows its block references.
//
// Contract
// - Rank r owns contiguous ranges of users and of videos, cut so each rank
//   holds about nnz / N entries (balance_rows); cuts fall on Gram blocks
//   (solver.hpp gram_block), so a range never splits one.
// - Per half-sweep each rank receives exactly the factor columns that its own
//   rows reference (an all-to-all whose plan is fixed at the start), the Gram
//   matrix of the other side is summed block by block in rank order (each
//   rank adds its blocks to its predecessor's sum and passes it on), and each
//   rank solves its own rows.
// - The result is bit-identical to train_als (loop.hpp) on one process for
//   every N and thread count, loss included: the initial factors are a
//   function of each element's index, every row's solve sees the same
//   inputs in the same order, and every sum is taken in the single-process
//   order. (CPUs of different instruction sets may still differ in the last
//   bits, as solver.hpp says.)
// - Each rank keeps its own users' factors; rank 0 also gathers every
//   video's (the smaller side, which the model's scoring panel is built
//   from). The users' factors go to rank 0 a chunk at a time as it writes
//   them (UserFactorSource, send_user_factors), so no rank ever holds all of
//   them. The loss is the same on every rank; progress is called on rank 0.
// - Errors: a failure that one rank finds in a step every rank takes (the
//   dataset's weights, divergence) is raised on every rank: rank 0 gets the
//   error, the others ReportedElsewhere (base/errors.hpp). run_collectively
//   does the same for the caller's own steps. Any other exception is an
//   error of that rank alone: it is printed with the rank and the whole job
//   is aborted (Comm::abort), so no rank waits forever.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "vidrec/als/loop.hpp"
#include "vidrec/base/comm.hpp"

namespace vidrec {

// parts + 1 cuts of m's rows, multiples of `granule` (except the last, rows),
// each nearest to an equal share of the entries; reads O(parts log rows)
// row pointers.
std::vector<uint32_t> balance_rows(const CsrView& m, int parts, uint32_t granule);

// Runs fn on every rank; if it throws on any, every rank throws (see above).
void run_collectively(Comm& comm, const std::function<void()>& fn);

// Called on each rank with the rows it is about to read (transpose: of
// item_users), before it reads them: a lazily opened dataset checks them.
using RowCheck = std::function<void(bool transpose, uint32_t begin, uint32_t end)>;

struct DistributedResult {
  TrainStats stats;
  arma::fmat own_users;             // f x this rank's users
  std::vector<uint32_t> user_cuts;  // every rank's range of users (size() + 1)
  arma::fmat item_factors;          // f x every video on rank 0; empty elsewhere
};

DistributedResult train_als_distributed(Comm& comm, const CsrView& user_items, const CsrView& item_users,
                                        const AlsConfig& cfg, const AlsProgress& progress = {},
                                        const RowCheck& check_rows = {});

// Rank 0: the users' factors in chunks of `chunk` users, in user order, as
// the model writer asks for them (ModelData::user_chunks); each chunk is
// received from the ranks that own it while the other ranks run
// send_user_factors with the same chunk size. drain() receives what is left
// when the writer failed, so no rank is left waiting.
class UserFactorSource {
 public:
  UserFactorSource(Comm& comm, const DistributedResult& result, uint32_t chunk);
  void fill(uint32_t first, uint32_t count, float* out);
  void drain();

 private:
  Comm& comm_;
  const DistributedResult& result_;
  uint32_t chunk_;
  uint64_t next_ = 0;
};

// Ranks other than 0: sends this rank's users to rank 0, chunk by chunk.
void send_user_factors(Comm& comm, const DistributedResult& result, uint32_t chunk);

}  // namespace vidrec
