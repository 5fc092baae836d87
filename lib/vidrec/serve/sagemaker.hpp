// SPDX-License-Identifier: MIT
// The Amazon SageMaker container contract, on a root directory (/opt/ml in
// the container; a temporary directory in tests).
//
// Contract
// - Train: hyperparameters from ROOT/input/config/hyperparameters.json, an
//   object whose values are strings (numbers are accepted too); keys are the
//   SageMaker options of the table (options/options.hpp): train's model
//   options (no `now`, `loss`), the `prepare` thresholds and the
//   multi-instance settings (processes_per_host, mpi_wait_seconds), spelt
//   with `_` or `-`; half_life needs one process. Keys starting with
//   "sagemaker_" or "_" (a tuning job's _tuning_objective_metric) are
//   SageMaker's own and ignored; any other unknown key is a ConfigError
//   naming it, the file and the nearest valid key; a value that does not
//   parse or breaks a rule is a ConfigError naming the key.
//   The data are every file under ROOT/input/data/training/ (or, without
//   that channel, the first channel by name but validation), read in path
//   order, whatever its name (gzip told by its magic), but hidden files,
//   names starting with "_" (_SUCCESS) and *.crc (Hadoop checksums).
//   prepare + train then write ROOT/model/model.vrm (atomically), and
//   prepare's summary and rejects ROOT/output/data/prepare_summary.json and
//   rejects.csv (uploaded by SageMaker as output.tar.gz).
// - Validation: with a channel ROOT/input/data/validation/ (raw logs, like
//   training), its files are prepared too (no pruning; the same reject-rate
//   limit), before training, and must share a user with the training data
//   (else an InputError naming the channel, before training). Once the model
//   is written, `evaluate` at k = kTuningK ranks it on them (unknown users
//   and videos as evaluate treats them); the caller prints
//   tuning_metric_lines for a tuning job's metric regexes.
// - Several hosts in ROOT/input/config/resourceconfig.json, or
//   processes_per_host > 1: every host prepares the data into the same local
//   path (shared_dataset_path); the leader starts one `mpirun` over all hosts
//   (sagemaker_mpi.hpp) whose rank 0 writes the model; a worker serves ssh
//   until the job has come and gone and writes no model. A failed mpirun is
//   no exception: its status and stderr come back in the report, for the
//   caller to make them the job's. The leader evaluates after a successful
//   mpirun; workers ignore the validation channel. The programs are
//   $VIDREC_MPIRUN (else mpirun), $VIDREC_SSH (else ssh) and $VIDREC_SSHD
//   (else /usr/sbin/sshd), so tests can stand in for them.
// - On failure the caller writes the reason to ROOT/output/failure
//   (write_failure) and exits non-zero.
// - Serve: the model at ROOT/model/model.vrm on 0.0.0.0, port
//   $SAGEMAKER_BIND_TO_PORT or 8080, bodies up to SageMaker's 6 MB limit,
//   CSV bodies' k from $VIDREC_CSV_K (ConfigError unless 1..kMaxK), else 10.
// - Ping (the image's HEALTHCHECK): that port's /ping (health_check.hpp).
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "vidrec/als/train.hpp"
#include "vidrec/evaluate/evaluate.hpp"
#include "vidrec/ingest/prepare.hpp"
#include "vidrec/options/options.hpp"
#include "vidrec/serve/sagemaker_launch.hpp"
#include "vidrec/serve/sagemaker_mpi.hpp"
#include "vidrec/serve/serve.hpp"

namespace vidrec {

// --root if given, else $SM_ROOT, else /opt/ml.
std::string sagemaker_root(const std::string& flag);

// hyperparameters.json, parsed and checked value by value with the option
// table (options/options.hpp; ConfigError naming the key, and `source`, the
// file, when given); AlsConfig::validate and plan_launch check the rest.
using SageMakerHyperparameters = Settings;

SageMakerHyperparameters parse_hyperparameters(const nlohmann::json& h, const std::string& source = "");

// The list length of the validation metrics (their names say it: ndcg@10).
constexpr uint32_t kTuningK = 10;

struct SageMakerTrainReport {
  std::vector<std::string> inputs;
  std::string model_path;
  LaunchPlan plan;
  TrainReport train;                      // Single only: the in-process run
  int job_status = 0;                     // Leader: mpirun's exit status
  std::string job_failure;                // Leader, status != 0: the reason, with the end of mpirun's stderr
  JobEnd worker_end = JobEnd::OrtedGone;  // Worker: what ended the wait

  std::vector<std::string> validation_inputs;  // Single and Leader; empty without the channel
  std::optional<EvaluateReport> validation;    // the model on them, once trained
};

SageMakerTrainReport sagemaker_train(const std::string& root, bool progress);

// Writes `reason` to ROOT/output/failure (SageMaker shows it as the job's
// failure reason). Best effort: never throws.
void write_failure(const std::string& root, const std::string& reason);

// The model's validation metrics, one "validation:NAME=VALUE" line each
// (ndcg@k, precision@k, recall@k, map@k, then auc where defined), VALUE a
// plain decimal with 6 places, for the metric definitions of a tuning job
// (README, "SageMaker hyperparameter tuning").
std::string tuning_metric_lines(const EvaluateReport& validation);

// $SAGEMAKER_BIND_TO_PORT, else 8080 (ConfigError unless 1..65535).
int sagemaker_port();

ServeConfig sagemaker_serve_config(const std::string& root);

}  // namespace vidrec
