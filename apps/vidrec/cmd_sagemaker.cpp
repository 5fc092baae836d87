// SPDX-License-Identifier: MIT
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <stdexcept>

#include "commands.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/serve/health_check.hpp"
#include "vidrec/serve/sagemaker.hpp"

namespace vidrec::cli {

void register_sagemaker(CLI::App& app) {
  auto root = std::make_shared<std::string>();
  auto quiet = std::make_shared<bool>(false);
  auto host = std::make_shared<std::string>();
  auto* sub = app.add_subcommand("sagemaker", "The Amazon SageMaker container contract (train, serve, ping)");
  sub->add_option("--root", *root, "SageMaker directory (default $SM_ROOT, else /opt/ml)");
  sub->require_subcommand(1);

  auto* train =
      sub->add_subcommand("train", "Hyperparameters + data channel under ROOT -> ROOT/model/model.vrm");
  train->fallthrough();
  train->add_flag("-q,--quiet", *quiet, "No progress on stderr");
  train->callback([root, quiet] {
    const std::string dir = sagemaker_root(*root);
    try {
      const SageMakerTrainReport rep = sagemaker_train(dir, !*quiet);
      switch (rep.plan.role) {
        case LaunchPlan::Role::Single:
          std::fprintf(stderr, "sagemaker train: %zu input files, %u users, %u videos -> %s\n", rep.inputs.size(),
                       rep.train.users, rep.train.videos, rep.model_path.c_str());
          break;
        case LaunchPlan::Role::Leader:
          // The ranks' status is the job's: 2 a usage error, else a failed run.
          if (rep.job_status == 2) throw ConfigError(rep.job_failure);
          if (rep.job_status != 0) throw std::runtime_error(rep.job_failure);
          std::fprintf(stderr, "sagemaker train: %zu input files, %zu hosts x %u processes -> %s\n",
                       rep.inputs.size(), rep.plan.hosts.size(), rep.plan.slots, rep.model_path.c_str());
          break;
        case LaunchPlan::Role::Worker:
          std::fprintf(stderr, "sagemaker train: worker %s done (%s)\n", rep.plan.current_host.c_str(),
                       rep.worker_end == JobEnd::OrtedGone ? "the job's orted ended" : "the leader is gone");
          break;
      }
      if (rep.validation) {
        std::fprintf(
            stderr,
            "sagemaker train: validation: %zu input files, %llu users evaluated, %llu unknown to the model\n",
            rep.validation_inputs.size(), static_cast<unsigned long long>(rep.validation->model.users),
            static_cast<unsigned long long>(rep.validation->users_unknown));
        // Results on stdout, at once: a tuning job reads them from the log.
        std::fputs(tuning_metric_lines(*rep.validation).c_str(), stdout);
        if (std::fflush(stdout) != 0) throw IoError("write to stdout failed");
      }
    } catch (const std::exception& e) {
      write_failure(dir, e.what());  // SageMaker reports this file as the failure reason
      throw;
    }
  });

  auto* serve =
      sub->add_subcommand("serve", "Serve ROOT/model/model.vrm on 0.0.0.0:$SAGEMAKER_BIND_TO_PORT (8080)");
  serve->fallthrough();
  serve->add_flag("-q,--quiet", *quiet, "No access log on stderr");
  serve->add_option("--host", *host, "Listen address instead of 0.0.0.0 (tests)");
  serve->callback([root, quiet, host] {
    ServeConfig cfg = sagemaker_serve_config(sagemaker_root(*root));
    if (!host->empty()) cfg.host = *host;
    cfg.access_log = !*quiet;
    serve_until_signal(cfg);
  });

  auto timeout = std::make_shared<double>(4.0);
  auto* ping = sub->add_subcommand(
      "ping", "Exit 0 if the server on 127.0.0.1:$SAGEMAKER_BIND_TO_PORT (8080) answers /ping with 200 (HEALTHCHECK)");
  ping->add_option("--timeout", *timeout, "Seconds to wait for the answer")->check(CLI::Range(0.001, 3600.0));
  ping->callback([timeout] {
    const int port = sagemaker_port();
    const int status = ping_status(port, std::chrono::milliseconds(static_cast<long>(*timeout * 1000)));
    if (status != 200)
      throw std::runtime_error("http://127.0.0.1:" + std::to_string(port) + "/ping answered " + std::to_string(status));
  });
}

}  // namespace vidrec::cli
