// SPDX-License-Identifier: MIT
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/evaluate/evaluate.hpp"

namespace vidrec::cli {

void register_evaluate(CLI::App& app) {
  auto cfg = std::make_shared<EvaluateStageConfig>();
  auto json = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand("evaluate", "Ranking quality of a model on a test dataset, vs most-popular");
  sub->add_option("--model", cfg->model, "Model file written by `vidrec train`")->required();
  sub->add_option("--test", cfg->test, "Test dataset file written by `vidrec split`")->required();
  sub->add_option("-k", cfg->eval.k, "Length of each user's recommendation list")->capture_default_str();
  sub->add_option("--threads", cfg->eval.threads, "Worker threads (0 = all cores)")->capture_default_str();
  sub->add_flag("--json", *json, "Print the figures as JSON");
  sub->callback([cfg, json] {
    const EvaluateReport rep = run_evaluate(*cfg);
    std::cout << (*json ? rep.to_json().dump(2) + "\n" : rep.to_text());
    std::cout.flush();
    if (!std::cout) throw IoError("write to stdout failed");
  });
}

}  // namespace vidrec::cli
