// SPDX-License-Identifier: MIT
#include <cstdio>
#include <memory>
#include <string>

#include "commands.hpp"
#include "vidrec/als/train.hpp"

namespace vidrec::cli {

void register_train(CLI::App& app) {
  auto cfg = std::make_shared<TrainConfig>();
  auto quiet = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand("train", "Dataset file -> implicit-feedback ALS model file");
  sub->add_option("dataset", cfg->dataset, "Dataset file written by `vidrec prepare`")->required();
  sub->add_option("-o,--output", cfg->output, "Model file to write (atomically)")->required();
  sub->add_option("--init-from", cfg->init_from,
                  "Start from this model's factors (users and videos matched by id; warm start)");
  auto apply = add_table_options(*sub, scope::Train);
  sub->add_flag("-q,--quiet", *quiet, "No progress or summary on stderr");
  sub->callback([cfg, quiet, apply] {
    Settings s;
    apply(s);
    cfg->als = s.als;
    cfg->weighting = s.weighting;
    cfg->ann = s.ann;
    cfg->progress = !*quiet;
    const TrainReport rep = run_train(*cfg);
    if (!*quiet && rep.primary)
      std::fprintf(stderr,
                   "train: %u users, %u videos, %llu pairs, %u factors, %zu iterations%s in %.2f s -> %s\n",
                   rep.users, rep.videos, static_cast<unsigned long long>(rep.pairs), cfg->als.factors,
                   rep.stats.iteration_seconds.size(),
                   rep.ranks > 1 ? (" on " + std::to_string(rep.ranks) + " ranks").c_str() : "", rep.seconds,
                   cfg->output.c_str());
  });
}

}  // namespace vidrec::cli
