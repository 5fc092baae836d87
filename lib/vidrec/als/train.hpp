// SPDX-License-Identifier: MIT
// The `train` stage end to end: dataset file -> implicit ALS -> model file,
// safe to run from cron.
//
// Contract
// - The configuration is validated (ConfigError) and the output checked
//   writable before the dataset is read, so mistakes fail in milliseconds;
//   an output naming the dataset (also through a link) is a ConfigError.
// - One writer per output (OutputLock in io/atomic_file.hpp): a second train on the
//   same output fails with IoError naming the lock and its holder's pid.
// - The model is written atomically (io/atomic_file.hpp): a kill at any moment
//   leaves the previous model intact and loadable.
// - Started by mpirun (base/comm.hpp), every rank runs this with the same
//   config: the ranks train together (als/distributed.hpp) and rank 0 locks
//   and writes the model, which is bit-identical to a single process's (the
//   "ranks" count in its metadata aside). --threads 0 then means the host's
//   cores divided among its ranks. Errors are reported once, by rank 0
//   (ReportedElsewhere on the others), and end every rank. Weighting needs
//   the whole matrix and is refused there (ConfigError).
// - The model's metadata records the hyperparameters and the weighting with
//   what fold-in needs to repeat it (hyperparameters_json).
// - init_from: training starts from that model's factors (warm_start.hpp),
//   read before the output is written (so it may be the output itself);
//   not under mpirun (ConfigError).
#pragma once
#include <string>

#include "vidrec/als/loop.hpp"
#include "vidrec/als/weighting.hpp"
#include "vidrec/model/ann.hpp"

namespace vidrec {

struct TrainConfig {
  std::string dataset;
  std::string output;
  AlsConfig als;
  Weighting weighting;  // applied to the dataset's weights first (weighting.hpp)
  AnnParams ann;        // an ANN index to build with the model (model/indexing.hpp), threads from als
  bool progress = true;
  std::string init_from;  // a previous model to start from (warm_start.hpp); empty = the seeded init
  nlohmann::json tune;    // when set, the metadata's "tune" object (how `vidrec tune` chose the settings)
};

struct TrainReport {
  uint32_t users = 0, videos = 0;
  uint64_t pairs = 0;
  TrainStats stats;
  double seconds = 0;   // wall time of the whole stage
  int ranks = 1;        // processes of the job (mpirun -np)
  bool primary = true;  // rank 0: the one that writes the model and reports
};

TrainReport run_train(const TrainConfig& cfg);

// The "hyperparameters" object of a model's metadata, and its inverse (what
// serve's fold-in and tune's config files use): FormatError-free parsing is
// the caller's job; unknown keys are ignored, missing ones keep defaults.
nlohmann::json hyperparameters_json(const AlsConfig& als, const Weighting& weighting);
void read_hyperparameters(const nlohmann::json& h, AlsConfig& als, Weighting& weighting);

}  // namespace vidrec
