// SPDX-License-Identifier: MIT
#include "vidrec/serve/sagemaker_mpi.hpp"

#include <catch2/catch.hpp>
#include <charconv>
#include <cstdlib>
#include <map>

#include "vidrec/base/errors.hpp"
#include "vidrec/serve/sagemaker.hpp"

using namespace vidrec;
using Role = LaunchPlan::Role;
using Argv = std::vector<std::string>;

namespace {

const char* kThreeHosts =
    R"({"current_host":"algo-1","hosts":["algo-1","algo-2","algo-3"],"network_interface_name":"eth0"})";

LaunchInputs inputs(const std::string& resourceconfig, unsigned ppn) {
  LaunchInputs in;
  if (!resourceconfig.empty()) in.resources = parse_resource_config(resourceconfig, "resourceconfig.json");
  in.processes_per_host = ppn;
  in.vidrec = "/usr/local/bin/vidrec";
  in.mpirun = "mpirun";
  in.dataset = "/tmp/vidrec-sagemaker-x/interactions.vrd";
  in.model = "/opt/ml/model/model.vrm";
  in.cores = 8;
  in.exported_env = {"PATH"};
  return in;
}

std::string config_error(const std::string& json) {
  try {
    parse_resource_config(json, "rc.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

// Reads a train argv back the way `vidrec train` does: integers exactly,
// floats as CLI11 2.1 reads them (strtold, then rounded to float).
AlsConfig parse_train_argv(const Argv& argv) {
  REQUIRE(argv.size() >= 5);
  CHECK(argv[1] == "train");
  std::map<std::string, std::string> opt;
  for (size_t i = 5; i < argv.size(); ++i) {
    if (argv[i] == "-q" || argv[i] == "--loss") continue;
    REQUIRE(i + 1 < argv.size());
    opt[argv[i]] = argv[i + 1];
    ++i;
  }
  auto f = [&](const char* k) { return static_cast<float>(std::strtold(opt.at(k).c_str(), nullptr)); };
  auto u = [&](const char* k) { return std::stoull(opt.at(k)); };
  AlsConfig a;
  a.factors = uint32_t(u("--factors"));
  a.iterations = uint32_t(u("--iterations"));
  a.regularization = f("--regularization");
  a.alpha = f("--alpha");
  a.epsilon = f("--epsilon");
  a.confidence = opt.at("--confidence") == "log" ? AlsConfig::Confidence::Log : AlsConfig::Confidence::Linear;
  a.solver = opt.at("--solver") == "cholesky" ? AlsConfig::Solver::Cholesky : AlsConfig::Solver::CG;
  a.cg_steps = uint32_t(u("--cg-steps"));
  a.threads = unsigned(u("--threads"));
  a.seed = u("--seed");
  return a;
}

}  // namespace

TEST_CASE("sagemaker mpi: resourceconfig.json is read and its mistakes named", "[sagemaker]") {
  const ResourceConfig rc = parse_resource_config(kThreeHosts, "rc.json");
  CHECK(rc.current_host == "algo-1");
  CHECK(rc.hosts == Argv{"algo-1", "algo-2", "algo-3"});
  CHECK(rc.network_interface == "eth0");
  CHECK(parse_resource_config(R"({"current_host":"a","hosts":["a"]})", "rc.json").network_interface.empty());

  CHECK(config_error(R"({"hosts":["algo-1"]})") == "rc.json: current_host is missing");
  CHECK(config_error(R"({"current_host":"algo-3","hosts":["algo-1","algo-2"]})") ==
        "rc.json: current_host algo-3 is not in hosts");
  CHECK(config_error(R"({"current_host":"algo-1","hosts":[]})") == "rc.json: hosts is empty");
  CHECK(config_error(R"({"current_host":"algo-1"})") == "rc.json: hosts is missing");
  CHECK(config_error(R"({"current_host":"algo-1","hosts":"algo-1"})") ==
        "rc.json: hosts must be an array of host names");
  CHECK(config_error(R"({"current_host":"algo-1","hosts":["algo-1",2]})") ==
        "rc.json: hosts[1] must be a string, got 2");
  CHECK(config_error(R"({"current_host":1,"hosts":["algo-1"]})") ==
        "rc.json: current_host must be a string, got 1");
  CHECK(config_error(R"({"current_host":"algo-1","hosts":["algo-1",""]})") == "rc.json: hosts[1] is empty");
  CHECK(config_error(R"({"current_host":"algo-1","hosts":["algo-1","algo-1"]})") ==
        "rc.json: hosts lists algo-1 twice");
  CHECK(config_error(R"(["algo-1"])") == "rc.json: must hold a JSON object");
  CHECK(config_error("{").rfind("rc.json: not valid JSON", 0) == 0);
}

TEST_CASE("sagemaker mpi: one host and one process per host is today's single process", "[sagemaker]") {
  for (const char* rc : {"", R"({"current_host":"algo-1","hosts":["algo-1"]})"}) {
    const LaunchPlan p = plan_launch(inputs(rc, 1));
    CHECK(p.role == Role::Single);
    CHECK(p.mpirun_argv.empty());
    CHECK(p.train_argv.empty());
    CHECK(p.workers.empty());
  }
}

TEST_CASE("sagemaker mpi: one host with several processes runs mpirun locally, without ssh", "[sagemaker]") {
  const LaunchPlan p = plan_launch(inputs(R"({"current_host":"algo-1","hosts":["algo-1"],
                                              "network_interface_name":"eth0"})",
                                          2));
  CHECK(p.role == Role::Leader);
  CHECK(p.workers.empty());
  CHECK(p.threads_per_rank == 4);  // 8 cores / 2 ranks
  const Argv train = {"/usr/local/bin/vidrec",
                      "train",
                      "/tmp/vidrec-sagemaker-x/interactions.vrd",
                      "-o",
                      "/opt/ml/model/model.vrm",
                      "--factors",
                      "64",
                      "--iterations",
                      "15",
                      "--regularization",
                      "0.00999999977648258209228515625",
                      "--alpha",
                      "1",
                      "--confidence",
                      "linear",
                      "--epsilon",
                      "1",
                      "--solver",
                      "cg",
                      "--cg-steps",
                      "3",
                      "--threads",
                      "4",
                      "--seed",
                      "42",
                      "--unobserved-weight",
                      "1",
                      "--reg-exponent",
                      "0",
                      "--negative-weight",
                      "0",
                      "--ann",
                      "none",
                      "--ann-m",
                      "16",
                      "--ann-ef-construction",
                      "200"};
  CHECK(p.train_argv == train);
  Argv mpirun = {"mpirun",    "--allow-run-as-root",
                 "-np",       "2",
                 "-H",        "localhost:2",
                 "--bind-to", "none",
                 "--map-by",  "slot",
                 "--mca",     "pml",
                 "ob1",       "--mca",
                 "btl",       "self,vader,tcp",
                 "--mca",     "btl_vader_single_copy_mechanism",
                 "none",      "-x",
                 "PATH"};
  mpirun.insert(mpirun.end(), train.begin(), train.end());
  CHECK(p.mpirun_argv == mpirun);
  // Without resourceconfig.json (docker run on a laptop) the same.
  CHECK(plan_launch(inputs("", 2)).mpirun_argv == mpirun);
}

TEST_CASE("sagemaker mpi: three hosts, the leader launches over all of them", "[sagemaker]") {
  LaunchInputs in = inputs(kThreeHosts, 2);
  in.progress = false;
  in.exported_env = {"PATH", "LD_LIBRARY_PATH"};
  const LaunchPlan p = plan_launch(in);
  CHECK(p.role == Role::Leader);
  CHECK(p.leader == "algo-1");
  CHECK(p.hosts == Argv{"algo-1", "algo-2", "algo-3"});
  CHECK(p.workers == Argv{"algo-2", "algo-3"});
  CHECK(p.slots == 2);
  CHECK(p.dataset == in.dataset);
  CHECK(p.train_argv.back() == "-q");
  Argv head = {"mpirun",
               "--allow-run-as-root",
               "-np",
               "6",
               "-H",
               "algo-1:2,algo-2:2,algo-3:2",
               "--bind-to",
               "none",
               "--map-by",
               "slot",
               "--mca",
               "pml",
               "ob1",
               "--mca",
               "btl",
               "self,vader,tcp",
               "--mca",
               "btl_vader_single_copy_mechanism",
               "none",
               "--mca",
               "btl_tcp_if_include",
               "eth0",
               "--mca",
               "oob_tcp_if_include",
               "eth0",
               "-x",
               "PATH",
               "-x",
               "LD_LIBRARY_PATH"};
  REQUIRE(p.mpirun_argv.size() == head.size() + p.train_argv.size());
  CHECK(Argv(p.mpirun_argv.begin(), p.mpirun_argv.begin() + long(head.size())) == head);
  CHECK(Argv(p.mpirun_argv.begin() + long(head.size()), p.mpirun_argv.end()) == p.train_argv);

  // One process per host: -np is the host count.
  const LaunchPlan one = plan_launch(inputs(kThreeHosts, 1));
  CHECK(one.role == Role::Leader);
  CHECK(one.mpirun_argv[3] == "3");
  CHECK(one.mpirun_argv[5] == "algo-1:1,algo-2:1,algo-3:1");
  CHECK(one.threads_per_rank == 8);
}

TEST_CASE("sagemaker mpi: a worker prepares and waits, it launches nothing", "[sagemaker]") {
  const LaunchPlan p = plan_launch(inputs(
      R"({"current_host":"algo-2","hosts":["algo-1","algo-2","algo-3"],"network_interface_name":"eth0"})",
      2));
  CHECK(p.role == Role::Worker);
  CHECK(p.current_host == "algo-2");
  CHECK(p.leader == "algo-1");
  CHECK(p.workers == Argv{"algo-2", "algo-3"});
  CHECK(p.dataset == "/tmp/vidrec-sagemaker-x/interactions.vrd");
  CHECK(p.mpirun_argv.empty());
  CHECK(p.train_argv.empty());
  // The leader rule is the list's order, not the names'.
  CHECK(plan_launch(inputs(R"({"current_host":"algo-2","hosts":["algo-2","algo-1"]})", 1)).role ==
        Role::Leader);
}

TEST_CASE("sagemaker mpi: processes_per_host is checked", "[sagemaker]") {
  for (unsigned bad : {0u, 1025u}) {
    try {
      plan_launch(inputs(kThreeHosts, bad));
      FAIL("accepted processes_per_host " << bad);
    } catch (const ConfigError& e) {
      CHECK(std::string(e.what()) ==
            "processes_per_host must be between 1 and 1024, got " + std::to_string(bad));
    }
  }
  CHECK(plan_launch(inputs(kThreeHosts, 1024)).mpirun_argv[3] == "3072");
  // More ranks than cores: each still gets a thread.
  CHECK(plan_launch(inputs(kThreeHosts, 16)).threads_per_rank == 1);
  CHECK_THROWS_WITH(parse_hyperparameters(nlohmann::json{{"processes_per_host", "two"}}),
                    "hyperparameter processes_per_host must be a number, got 'two'");
  CHECK_THROWS_AS(parse_hyperparameters(nlohmann::json{{"processes_per_host", "-1"}}), ConfigError);
  CHECK(parse_hyperparameters(nlohmann::json{{"processes_per_host", "4"}}).processes_per_host == 4);
  CHECK(parse_hyperparameters(nlohmann::json{{"mpi_wait_seconds", "30"}}).mpi_wait_seconds == 30);
  CHECK(parse_hyperparameters(nlohmann::json::object()).mpi_wait_seconds == 3600);
}

TEST_CASE("sagemaker mpi: hyperparameters reach every rank as the single-host path reads them",
          "[sagemaker]") {
  const nlohmann::json sets[] = {
      {{"factors", "16"},
       {"iterations", "7"},
       {"regularization", "0.1"},
       {"alpha", "40"},
       {"confidence", "log"},
       {"epsilon", "0.3"},
       {"solver", "cholesky"},
       {"cg_steps", "5"},
       {"seed", "7"}},
      // Decimals whose float sits near a rounding boundary, tiny and huge.
      {{"regularization", "1e-30"}, {"alpha", "3.4028235e38"}, {"epsilon", "16777217"}, {"threads", "3"}},
      nlohmann::json::object(),
  };
  for (const nlohmann::json& h : sets) {
    const SageMakerHyperparameters hp = parse_hyperparameters(h);
    LaunchInputs in = inputs(kThreeHosts, 2);
    in.als = hp.als;
    const LaunchPlan p = plan_launch(in);
    const AlsConfig got = parse_train_argv(p.train_argv);
    INFO(h.dump());
    CHECK(got.factors == hp.als.factors);
    CHECK(got.iterations == hp.als.iterations);
    CHECK(got.regularization == hp.als.regularization);
    CHECK(got.alpha == hp.als.alpha);
    CHECK(got.epsilon == hp.als.epsilon);
    CHECK(got.confidence == hp.als.confidence);
    CHECK(got.solver == hp.als.solver);
    CHECK(got.cg_steps == hp.als.cg_steps);
    CHECK(got.seed == hp.als.seed);
    CHECK(got.threads == (hp.als.threads ? hp.als.threads : 4u));
    // from_chars reads the same floats (the single-host parser).
    float reg = 0;
    const std::string& s = p.train_argv[10];
    std::from_chars(s.data(), s.data() + s.size(), reg);
    CHECK(reg == hp.als.regularization);
  }
}

TEST_CASE("sagemaker mpi: every host of a job prepares into the same path", "[sagemaker]") {
  const std::string a = shared_dataset_path("/tmp", "/opt/ml");
  CHECK(a == shared_dataset_path("/tmp", "/opt/ml"));
  CHECK(a == shared_dataset_path("/tmp", "/opt/./ml"));
  CHECK(a != shared_dataset_path("/tmp", "/tmp/sm-test"));
  CHECK(a.rfind("/tmp/vidrec-sagemaker-", 0) == 0);
  CHECK(a.size() == std::string("/tmp/vidrec-sagemaker-0123456789abcdef/interactions.vrd").size());
}
