// SPDX-License-Identifier: MIT
#include "vidrec/serve/sagemaker_mpi.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "vidrec/base/errors.hpp"
#include "vidrec/options/options.hpp"

namespace vidrec {

namespace {

constexpr unsigned kMaxProcessesPerHost = 1024;

std::string host_string(const std::string& source, const std::string& what, const nlohmann::json& v) {
  if (!v.is_string()) throw ConfigError(source + ": " + what + " must be a string, got " + v.dump());
  std::string s = v.get<std::string>();
  if (s.empty()) throw ConfigError(source + ": " + what + " is empty");
  return s;
}

// Every Ranks option of the table, floats as exact decimals (options.hpp):
// train's parser reads them back to the same values whatever its rounding.
std::vector<std::string> train_arguments(const LaunchInputs& in, unsigned threads) {
  Settings s;
  s.als = in.als;
  s.als.threads = threads;
  std::vector<std::string> argv = {in.vidrec, "train", in.dataset, "-o", in.model};
  for (const Option& o : options()) {
    if (!(o.scopes & scope::Ranks)) continue;
    const std::string value = o.text(s, true);
    if (!o.flag())
      argv.insert(argv.end(), {"--" + o.name, value});
    else if (value == "true")
      argv.push_back("--" + o.name);
  }
  if (!in.progress) argv.push_back("-q");
  return argv;
}

}  // namespace

ResourceConfig parse_resource_config(const std::string& json_text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(source + ": not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw ConfigError(source + ": must hold a JSON object");
  ResourceConfig rc;
  if (!j.contains("current_host")) throw ConfigError(source + ": current_host is missing");
  rc.current_host = host_string(source, "current_host", j["current_host"]);
  if (!j.contains("hosts")) throw ConfigError(source + ": hosts is missing");
  const nlohmann::json& hosts = j["hosts"];
  if (!hosts.is_array()) throw ConfigError(source + ": hosts must be an array of host names");
  if (hosts.empty()) throw ConfigError(source + ": hosts is empty");
  for (size_t i = 0; i < hosts.size(); ++i) {
    std::string h = host_string(source, "hosts[" + std::to_string(i) + "]", hosts[i]);
    if (std::find(rc.hosts.begin(), rc.hosts.end(), h) != rc.hosts.end())
      throw ConfigError(source + ": hosts lists " + h + " twice");
    rc.hosts.push_back(std::move(h));
  }
  if (std::find(rc.hosts.begin(), rc.hosts.end(), rc.current_host) == rc.hosts.end())
    throw ConfigError(source + ": current_host " + rc.current_host + " is not in hosts");
  if (j.contains("network_interface_name"))
    rc.network_interface = host_string(source, "network_interface_name", j["network_interface_name"]);
  return rc;
}

LaunchPlan plan_launch(const LaunchInputs& in) {
  if (in.processes_per_host < 1 || in.processes_per_host > kMaxProcessesPerHost)
    throw ConfigError("processes_per_host must be between 1 and " + std::to_string(kMaxProcessesPerHost) +
                      ", got " + std::to_string(in.processes_per_host));
  LaunchPlan p;
  p.slots = in.processes_per_host;
  p.current_host = in.resources ? in.resources->current_host : "localhost";
  p.hosts = in.resources ? in.resources->hosts : std::vector<std::string>{p.current_host};
  p.leader = p.hosts.front();
  p.workers.assign(p.hosts.begin() + 1, p.hosts.end());
  p.dataset = in.dataset;
  p.threads_per_rank = in.als.threads != 0 ? in.als.threads : std::max(1u, in.cores / p.slots);
  const bool one_host = p.hosts.size() == 1;
  if (one_host && p.slots == 1) {
    p.role = LaunchPlan::Role::Single;
    return p;
  }
  if (p.current_host != p.leader) {
    p.role = LaunchPlan::Role::Worker;
    return p;
  }
  p.role = LaunchPlan::Role::Leader;
  p.train_argv = train_arguments(in, p.threads_per_rank);

  const std::string slots = std::to_string(p.slots);
  std::string host_list;
  // One host: "localhost", which Open MPI starts without ssh whatever the
  // container's hostname is.
  for (const std::string& h : one_host ? std::vector<std::string>{"localhost"} : p.hosts)
    host_list += (host_list.empty() ? "" : ",") + h + ":" + slots;
  auto& m = p.mpirun_argv;
  m = {in.mpirun, "--allow-run-as-root", "-np", std::to_string(p.hosts.size() * p.slots), "-H", host_list,
       // Ranks spread their own threads over the cores; Open MPI's default
       // binding would pin each rank, threads and all, to one core.
       "--bind-to", "none", "--map-by", "slot",
       // TCP between hosts, shared memory within one: SageMaker's CPU
       // instances have neither InfiniBand nor UCX hardware; vader's
       // single-copy (process_vm_readv) is refused inside Docker.
       "--mca", "pml", "ob1", "--mca", "btl", "self,vader,tcp", "--mca", "btl_vader_single_copy_mechanism",
       "none"};
  if (!one_host && in.resources && !in.resources->network_interface.empty()) {
    const std::string& iface = in.resources->network_interface;
    m.insert(m.end(), {"--mca", "btl_tcp_if_include", iface, "--mca", "oob_tcp_if_include", iface});
  }
  for (const std::string& name : in.exported_env) m.insert(m.end(), {"-x", name});
  m.insert(m.end(), p.train_argv.begin(), p.train_argv.end());
  return p;
}

std::string shared_dataset_path(const std::string& temp_dir, const std::string& root) {
  // FNV-1a of the normalised absolute root: stable across hosts and runs.
  const std::string key = std::filesystem::absolute(root).lexically_normal().string();
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return (std::filesystem::path(temp_dir) / ("vidrec-sagemaker-" + std::string(hex)) / "interactions.vrd")
      .string();
}

}  // namespace vidrec
