// SPDX-License-Identifier: MIT
// SageMaker multi-instance training: who does what, and the command lines.
//
// Contract
// - ROOT/input/config/resourceconfig.json ({"current_host":"algo-1",
//   "hosts":["algo-1","algo-2"],"network_interface_name":"eth0"}) names the
//   hosts of the job. parse_resource_config refuses a missing or non-string
//   current_host, hosts missing, empty, holding a non-string, an empty name or
//   a name twice, and a current_host not in hosts, with a ConfigError naming
//   the problem. A missing resourceconfig.json means one host.
// - The leader is hosts[0] (SageMaker lists the hosts in the same order on
//   every host, so all agree without talking); every other host is a worker.
// - plan_launch is pure: from the hosts, processes_per_host and the training
//   options it decides the role and builds the argv of mpirun and of the
//   `vidrec train` every rank runs.
//   * One host and processes_per_host 1: Single, no mpirun (today's path).
//   * One host and processes_per_host > 1: Leader, mpirun on localhost only.
//   * Several hosts: Leader on hosts[0], Worker elsewhere; mpirun over ssh
//     with S slots on each host, the leader first so rank 0 (the one that
//     writes the model) runs on it.
// - Every rank gets the Ranks options of options/options.hpp as the
//   single-host path would use them, as exact decimals, so parsing them
//   back yields the same AlsConfig. A threads
//   option of 0 (all cores) becomes cores / processes_per_host per rank
//   (at least 1); an explicit threads value is kept per rank.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "vidrec/als/config.hpp"

namespace vidrec {

struct ResourceConfig {
  std::string current_host;
  std::vector<std::string> hosts;
  std::string network_interface;  // empty when the file names none
};

// `source` names the file in messages.
ResourceConfig parse_resource_config(const std::string& json_text, const std::string& source);

struct LaunchInputs {
  std::optional<ResourceConfig> resources;  // nullopt: no resourceconfig.json
  unsigned processes_per_host = 1;          // >= 1
  AlsConfig als;
  bool progress = true;
  std::string vidrec;                     // this executable; the image puts it at the same path on every host
  std::string mpirun;                     // launcher program ($VIDREC_MPIRUN, else "mpirun")
  std::string dataset;                    // the prepared dataset, the same path on every host
  std::string model;                      // where rank 0 writes the model
  unsigned cores = 1;                     // hardware threads per host (SageMaker hosts of one job are alike)
  std::vector<std::string> exported_env;  // names passed to every rank with -x
};

struct LaunchPlan {
  enum class Role { Single, Leader, Worker };
  Role role = Role::Single;
  std::string current_host;        // "localhost" without resourceconfig.json
  std::string leader;              // hosts[0]
  std::vector<std::string> hosts;  // rank order: the leader's ranks come first
  std::vector<std::string> workers;
  std::string dataset;  // every host prepares into it (Leader and Worker)
  unsigned slots = 1;   // ranks per host
  unsigned threads_per_rank = 0;
  std::vector<std::string> train_argv;   // Leader only: what each rank runs
  std::vector<std::string> mpirun_argv;  // Leader only: mpirun ... train_argv
};

LaunchPlan plan_launch(const LaunchInputs& in);

// The dataset path every host prepares into: the same on every host of one
// job (same image, same ROOT), different for different ROOTs on one machine.
std::string shared_dataset_path(const std::string& temp_dir, const std::string& root);

}  // namespace vidrec
