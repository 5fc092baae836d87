// SPDX-License-Identifier: MIT
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "vidrec/evaluate/split.hpp"

namespace vidrec::cli {

void register_split(CLI::App& app) {
  auto cfg = std::make_shared<SplitStageConfig>();
  auto by = std::make_shared<std::string>("time");
  auto quiet = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand("split", "Dataset file -> train and test dataset files (per-user holdout)");
  sub->add_option("dataset", cfg->dataset, "Dataset file written by `vidrec prepare`")->required();
  sub->add_option("-o,--output", cfg->train_output, "Train dataset file to write (atomically)")->required();
  sub->add_option("--test", cfg->test_output, "Test dataset file to write (atomically)")->required();
  sub->add_option("--test-fraction", cfg->split.test_fraction,
                  "Share of each user's videos held out: floor(n * fraction) of n")
      ->capture_default_str();
  sub->add_option("--by", *by, "time: each user's most recent videos; random: a seeded random subset")
      ->check(CLI::IsMember({"time", "random"}))
      ->capture_default_str();
  sub->add_option("--seed", cfg->split.seed, "Seed of --by random")->capture_default_str();
  sub->add_flag("-q,--quiet", *quiet, "No summary on stderr");
  sub->callback([cfg, by, quiet] {
    cfg->split.by = *by == "random" ? SplitConfig::By::Random : SplitConfig::By::Time;
    const SplitReport rep = run_split(*cfg);
    if (!*quiet)
      std::fprintf(stderr, "split: %u users (%u with a test part), %u videos; %llu pairs -> %s, %llu -> %s\n",
                   rep.users, rep.test_users, rep.videos, static_cast<unsigned long long>(rep.train_pairs),
                   cfg->train_output.c_str(), static_cast<unsigned long long>(rep.test_pairs),
                   cfg->test_output.c_str());
  });
}

}  // namespace vidrec::cli
