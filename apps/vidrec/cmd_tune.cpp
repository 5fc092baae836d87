// SPDX-License-Identifier: MIT
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "commands.hpp"
#include "vidrec/als/weighting.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/tune/tune.hpp"

namespace vidrec::cli {

void register_tune(CLI::App& app) {
  auto cfg = std::make_shared<TuneConfig>();
  auto by = std::make_shared<std::string>("time");
  auto budget = std::make_shared<std::string>();
  auto quiet = std::make_shared<bool>(false);
  auto* sub =
      app.add_subcommand("tune", "Dataset file -> best ALS settings on a validation split, and their model");
  sub->add_option("dataset", cfg->dataset, "Dataset file written by `vidrec prepare`")->required();
  sub->add_option("-o,--output", cfg->output, "Model file to write (atomically), trained on all of DATASET")
      ->required();
  auto* trials =
      sub->add_option("--trials", cfg->trials, "Configurations to try (50 when there is no --budget)");
  sub->add_option("--budget", *budget,
                  "Time for the search, e.g. 10m or 1h (checked before each evaluation; the final training "
                  "comes on top)");
  sub->add_option("--metric", cfg->metric, "What to maximise: ndcg@K, precision@K, recall@K, map@K or auc")
      ->capture_default_str();
  sub->add_option("--validation-fraction", cfg->validation_fraction,
                  "Share of each user's pairs held out to score trials: floor(n * fraction) of n")
      ->capture_default_str();
  sub->add_option("--by", *by, "Held out: time (each user's most recent pairs) or random (seeded)")
      ->check(CLI::IsMember({"time", "random"}))
      ->capture_default_str();
  sub->add_option("--space", cfg->space_file, "JSON file overriding the search space (see README)")
      ->check(CLI::ExistingFile);
  sub->add_option("--seed", cfg->seed, "Seed of the search, of --by random and of the models")
      ->capture_default_str();
  sub->add_option("--threads", cfg->threads, "Worker threads, shared between trials (0 = all cores)")
      ->capture_default_str();
  sub->add_option("--config-out", cfg->config_out,
                  "Settings file for `vidrec train --config` (default MODEL.toml)");
  sub->add_option("--tmp", cfg->tmp_dir,
                  "Directory for the validation split and trial models (default $TMPDIR or /tmp)");
  sub->add_flag("-q,--quiet", *quiet, "No progress or summary on stderr");
  sub->callback([cfg, by, budget, quiet, trials] {
    cfg->by = *by == "random" ? SplitConfig::By::Random : SplitConfig::By::Time;
    if (!budget->empty()) cfg->budget_seconds = parse_duration(*budget);
    if (trials->count() == 0 && budget->empty()) cfg->trials = 50;
    cfg->progress = !*quiet;
    cfg->on_evaluation = [](const nlohmann::ordered_json& line) {
      std::cout << line.dump() << '\n' << std::flush;
      if (!std::cout) throw IoError("write to stdout failed");
    };
    const TuneReport rep = run_tune(*cfg);
    if (*quiet) return;
    std::fprintf(
        stderr,
        "tune: best %s %.6g (trial %u, mean of %u seeds) of %llu trials, %llu evaluations in %.1f s%s: %s\n"
        "tune: settings -> %s; final model trained in %.2f s -> %s\n",
        rep.metric.c_str(), rep.value, rep.best_trial, rep.seeds, static_cast<unsigned long long>(rep.trials),
        static_cast<unsigned long long>(rep.evaluations), rep.search_seconds,
        rep.budget_reached ? " (budget reached)" : "", rep.parameters.dump().c_str(), rep.config_out.c_str(),
        rep.train.seconds, cfg->output.c_str());
  });
}

}  // namespace vidrec::cli
