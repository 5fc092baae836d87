// SPDX-License-Identifier: MIT
#include <memory>

#include "commands.hpp"
#include "vidrec/report/report.hpp"

namespace vidrec::cli {

void register_report(CLI::App& app) {
  auto cfg = std::make_shared<ReportConfig>();
  auto* sub = app.add_subcommand(
      "report", "One self-contained HTML page about a model: card, loss, quality, long tail");
  sub->add_option("--model", cfg->model, "Model file")->required();
  sub->add_option("--test", cfg->test, "Test dataset (from `vidrec split`): metrics@k curves, k = 1..max-k");
  sub->add_option("--tune-log", cfg->tune_log, "`vidrec tune`'s stdout (JSON lines): metric vs parameters");
  sub->add_option("--dataset", cfg->dataset, "The training dataset: time span, provenance, recent history");
  sub->add_option("-o,--output", cfg->output, "HTML file to write (- = stdout)")->required();
  sub->add_option("--max-k", cfg->max_k, "Curves for k = 1..max-k (at most 254)")->capture_default_str();
  sub->add_option("--sample-users", cfg->sample_users, "Users evaluated and recommended for at most")
      ->capture_default_str();
  sub->add_option("--seed", cfg->seed, "Seed of the user samples")->capture_default_str();
  sub->add_option("--threads", cfg->threads, "Worker threads (0 = all cores)")->capture_default_str();
  sub->add_flag("-q,--quiet", cfg->quiet, "No progress on stderr");
  sub->callback([cfg] { run_report(*cfg); });
}

}  // namespace vidrec::cli
