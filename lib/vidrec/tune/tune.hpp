// SPDX-License-Identifier: MIT
// The `tune` stage: searches ALS hyperparameters on a validation split of one
// dataset, writes the best as a `vidrec train --config` file, and trains the
// final model with them on the whole dataset.
//
// Contract
// - Reads DATASET and nothing else (besides the --space file): it holds out
//   each user's last validation_fraction of pairs (split.hpp split_dataset,
//   by time, or at random with the seed) into files of a private temporary
//   directory under tmp_dir (io/spill_dir.hpp), removed on every way out,
//   SIGINT/SIGTERM included. Trials train on the rest, write their model
//   there and are scored by evaluate.hpp's evaluate() on the held-out part,
//   exactly as `vidrec evaluate` would score them.
// - The search: search.hpp (Hyperband with warm starts, then local moves)
//   over space.hpp's space, and its final check: the 5 best trials trained
//   again with seeds + 1, + 2, + 3; the chosen trial has the highest mean
//   over its 4 values (ties to the lower trial), at the iterations of its
//   best rung. Every evaluation is reported through on_evaluation, in order,
//   as one JSON object: {"trial", "rung", "iterations", "seed" (ALS's),
//   "parameters" (train's options, settings.hpp), "metric", "value" (null
//   when ALS diverged, with "error"), "seconds"}.
// - Determinism: the evaluations (all but "seconds"), the settings chosen and
//   the model are a function of the dataset, the options and the seed: not of
//   the thread count nor of how trials share the threads.
// - Stopping: after `trials` configurations (the last bracket cut to fit) or
//   when `budget_seconds` run out, whichever comes first (at least one must
//   be set). The budget is checked before each evaluation starts (but the
//   first, so there is always a result): the search stops once what is left
//   would not cover the final check, estimated from the 5 best trials' own
//   times so far (trials.hpp); the check then gets the rest, and a round of
//   it cut by the budget does not count. Evaluations started finish, so they
//   are a prefix of the unbudgeted sequence, cut at a time-dependent point.
//   The budget counts the split, the search and the check, not the final
//   training.
// - Threads (0 = all cores): a trial gets one thread per 200k pairs of the
//   training part (at least 1, at most all), and trials of a rung run side
//   by side on the rest (ALS on small data does not scale with threads).
// - Output: the settings as a TOML config ([train], settings.hpp) written
//   atomically to config_out (default output + ".toml"), then the final model
//   by als/train.hpp's run_train on the whole dataset, so it is exactly the
//   model `vidrec train DATASET -o MODEL --config CONFIG` trains; its
//   metadata records the settings and a "tune" object (metric, value, seeds,
//   trial, trials, evaluations, seed, validation split).
// - Fails fast, before reading the dataset: a bad option or --space file is a
//   ConfigError, and the outputs are checked (io/paths.hpp), locked and
//   probed as train does. The output locks are held during the search; the
//   model's is released just before run_train takes it again. A dataset none
//   of whose users has enough pairs to hold one out, or a search in which
//   every trial diverged, is an InputError.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "vidrec/als/train.hpp"
#include "vidrec/evaluate/split.hpp"

namespace vidrec {

struct TuneConfig {
  std::string dataset;
  std::string output;
  std::string config_out;     // empty: output + ".toml"
  std::string space_file;     // empty: the default space
  std::string tmp_dir;        // empty: $TMPDIR, else /tmp
  uint64_t trials = 0;        // 0: no limit (needs a budget)
  double budget_seconds = 0;  // 0: no limit (needs trials)
  std::string metric = "ndcg@10";
  double validation_fraction = 0.1;
  SplitConfig::By by = SplitConfig::By::Time;
  uint64_t seed = 42;
  unsigned threads = 0;
  bool progress = true;
  std::function<void(const nlohmann::ordered_json&)> on_evaluation;
  void validate() const;  // ConfigError naming the rule
};

struct TuneReport {
  std::string metric;
  double value = 0;    // the chosen trial's mean over `seeds` evaluations
  uint32_t seeds = 1;  // of the final check
  uint32_t best_trial = 0;
  nlohmann::ordered_json parameters;  // of the best, as in the config file
  uint64_t trials = 0, evaluations = 0;
  bool budget_reached = false;
  double search_seconds = 0;
  std::string config_out;
  TrainReport train;  // the final model's
};

TuneReport run_tune(const TuneConfig& cfg);

}  // namespace vidrec
