// SPDX-License-Identifier: MIT
// tune's search strategy, apart from ALS: which configurations to try and
// how far to train each (Hyperband over successive halving, Li et al. 2017,
// with iterations as the resource), plus a local search around the best.
//
// Contract
// - Rungs r_0 < ... < r_K are iteration counts (space.hpp). A bracket starts
//   n configurations at rung i, evaluates them, keeps the best
//   max(1, floor(n / 2)) and continues those to rung i + 1, and so on up to
//   r_K. A kept trial continues from its factors (warm start), which trains
//   exactly the model of r_{i+1} iterations from scratch (als/loop.hpp).
// - Ranking within a rung: higher value first, ties to the lower trial id;
//   a failed evaluation (NaN: ALS diverged) ranks last and is never kept.
// - A round runs brackets starting at rung 0, 1, ..., K with
//   ceil((K + 1) / (K + 1 - i) * 2^(K - i)) configurations (Hyperband's
//   spread between many short and few long trials); rounds repeat until
//   max_trials configurations were started (the last bracket is cut to what
//   is left) or the budget runs out.
// - New configurations get consecutive trial ids and are proposed when their
//   bracket starts, from the evaluations finished before it: in the first
//   round all are uniform random points; after it every second one is a
//   local move from one of the 5 best trials so far (their best value at any
//   rung): each unit coordinate moves by a triangular step in [-0.15, 0.15],
//   reflected into [0, 1). The whole sequence is a function of the seed and
//   the values, so it repeats exactly.
// - run_jobs gets each rung's jobs at once (run them in any order, in
//   parallel) and answers each with its value, or nothing when the budget ran
//   out first: the search then stops after recording what did run.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "vidrec/tune/random.hpp"
#include "vidrec/tune/space.hpp"

namespace vidrec {

struct Evaluation {
  uint32_t trial = 0;
  uint32_t rung = 0;  // index into the rungs
  double value = 0;   // NaN: failed
};

struct Job {
  uint32_t trial = 0;
  int from_rung = -1;  // the rung whose factors it continues; -1: from the start
  uint32_t rung = 0;
  uint32_t replica = 0;  // > 0: the final check, with the ALS seed + replica
};

struct Bracket {
  uint32_t first_rung = 0;
  uint32_t configs = 0;
};

// One round's brackets for `rungs` rungs.
std::vector<Bracket> hyperband_round(uint32_t rungs);

// The trials a rung keeps (see the contract), best first.
std::vector<uint32_t> promote(const std::vector<Evaluation>& rung);

// Each trial's best evaluation (ties to the lower rung), the best trials
// first (higher value, ties to the lower trial); failures left out.
std::vector<Evaluation> ranked_trials(const std::vector<Evaluation>& history);

// Proposes each new trial's unit coordinates (see the contract).
class Proposer {
 public:
  Proposer(uint64_t seed, uint32_t round_size) : rng_(seed), round_size_(round_size) {}
  // Trials must come in id order 0, 1, 2, ...
  const Point& propose(uint32_t trial, const std::vector<Evaluation>& history);
  const Point& unit(uint32_t trial) const { return points_[trial]; }

 private:
  SplitMix64 rng_;
  uint32_t round_size_;
  std::vector<Point> points_;
};

using ProposeFn = std::function<void(uint32_t trial, const std::vector<Evaluation>& history)>;
using RunJobsFn = std::function<std::vector<std::optional<double>>(const std::vector<Job>& jobs)>;

// Runs the search; max_trials 0 = until run_jobs stops answering. Returns
// every evaluation in the order the jobs were given.
std::vector<Evaluation> run_search(uint32_t rungs, uint64_t max_trials, const ProposeFn& propose,
                                   const RunJobsFn& run_jobs);

// The final check, against the winner's curse (the best of hundreds of noisy
// values is mostly luck): the `candidates` best trials (ranked_trials, each
// at the rung of its best value) are evaluated again from the start with
// replicas 1, 2, ..., `replicas` (the ALS seed + replica), one round of all
// candidates per replica. The choice is the highest mean over the replicas
// every candidate completed (the search's value being replica 0), ties to
// the lower trial; a candidate that failed once is out. A round cut short
// by run_jobs does not count. Nothing when history has no success.
struct Choice {
  uint32_t trial = 0, rung = 0;
  double mean = 0;                 // over `replicas` + 1 values
  uint32_t replicas = 0;           // rounds completed
  std::vector<Evaluation> checks;  // every evaluation of the check, in order
};
std::optional<Choice> final_check(const std::vector<Evaluation>& history, uint32_t candidates,
                                  uint32_t replicas, const RunJobsFn& run_jobs);

}  // namespace vidrec
