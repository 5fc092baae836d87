// SPDX-License-Identifier: MIT
// The Amazon SageMaker container contract, on a root directory (/opt/ml in
// the container; a temporary directory in tests).
//
// Contract
// - Train: hyperparameters from ROOT/input/config/hyperparameters.json, an
//   object whose values are strings (numbers are accepted too); keys are the
//   `train` options (factors, iterations, regularization, alpha, confidence,
//   epsilon, solver, cg_steps, threads, seed) and the `prepare` thresholds
//   (min_user_events, min_video_events, max_reject_rate). Keys starting with
//   "sagemaker_" are SageMaker's own and ignored; any other unknown key, or a
//   value that does not parse or breaks a rule, is a ConfigError naming it.
//   The data are every *.csv / *.csv.gz file under ROOT/input/data/training/
//   (or, without that channel, the first channel by name), read in path
//   order. prepare + train then write ROOT/model/model.vrm (atomically).
// - On failure the caller writes the reason to ROOT/output/failure
//   (write_failure) and exits non-zero.
// - Serve: the model at ROOT/model/model.vrm on 0.0.0.0, port
//   $SAGEMAKER_BIND_TO_PORT or 8080, bodies up to SageMaker's 6 MB limit.
#pragma once
#include <string>

#include "vidrec/serve/serve.hpp"
#include "vidrec/als/train.hpp"

namespace vidrec {

// --root if given, else $SM_ROOT, else /opt/ml.
std::string sagemaker_root(const std::string& flag);

struct SageMakerTrainReport {
  std::vector<std::string> inputs;
  std::string model_path;
  TrainReport train;
};

SageMakerTrainReport sagemaker_train(const std::string& root, bool progress);

// Writes `reason` to ROOT/output/failure (SageMaker shows it as the job's
// failure reason). Best effort: never throws.
void write_failure(const std::string& root, const std::string& reason);

ServeConfig sagemaker_serve_config(const std::string& root);

}  // namespace vidrec
