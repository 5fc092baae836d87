// SPDX-License-Identifier: MIT
// The `split` stage: one dataset -> a train part and a test part, holding out
// part of every user's history so a model trained on the first can be scored
// on the second (evaluate.hpp).
//
// Contract
// - Per-user holdout over the user's (user, video) pairs -- the aggregated
//   entries of the dataset, not raw events. A user with n pairs puts
//   floor(n * test_fraction) of them in test (floor, so test never takes more
//   than the fraction; computed with a 1e-9 tolerance so 100 * 0.29 is 29, not
//   28.999...). A user for whom that is 0 stays whole in train.
// - By::Time holds out the user's most recent pairs: ordered by last
//   timestamp, then first timestamp, then video id; the last ones go to test.
//   By::Random holds out a uniformly random subset chosen by `seed` through a
//   hash of (seed, user, video), so the result depends on the data and the seed
//   only -- not on the standard library, thread count or processing order.
// - Every pair of the input lands in exactly one part, with its weight, event
//   count and timestamps unchanged. Both parts keep the input's full user and
//   video id lists (indices align across input, train and test, and a model
//   trained on train knows every test id) and its users' locations; users or
//   videos with no entries in one part are normal.
// - Provenance of each part records the split parameters, which part it is,
//   and the input's path and content checksum.
// - run_split validates the configuration (ConfigError; also outputs naming
//   the dataset or each other, io/paths.hpp check_outputs) and takes an
//   OutputLock on both outputs and checks they are writable before reading the
//   input. Each output is written atomically; the pair is not: if writing the
//   test part fails, the train part has already been replaced.
#pragma once
#include <cstdint>
#include <string>

#include "vidrec/dataset/dataset.hpp"

namespace vidrec {

struct SplitConfig {
  enum class By { Time, Random };
  double test_fraction = 0.2;
  By by = By::Time;
  uint64_t seed = 42;     // By::Random only
  void validate() const;  // throws ConfigError
};

// floor(n * fraction) with the tolerance described above.
uint64_t test_count(uint64_t n, double fraction);

struct SplitParts {
  DatasetData train, test;
  uint32_t test_users = 0;  // users with at least one pair in test
};

// Splits an opened dataset; provenance of both parts is filled in.
SplitParts split_dataset(const Dataset& ds, const SplitConfig& cfg);

struct SplitStageConfig {
  std::string dataset;
  std::string train_output;
  std::string test_output;
  SplitConfig split;
};

struct SplitReport {
  uint32_t users = 0, videos = 0, test_users = 0;
  uint64_t train_pairs = 0, test_pairs = 0;
};

// Throws InputError when the dataset is empty or no user has enough pairs to
// hold any out (the message says how many a user needs).
SplitReport run_split(const SplitStageConfig& cfg);

}  // namespace vidrec
