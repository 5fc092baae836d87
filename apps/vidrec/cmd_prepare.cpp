// SPDX-License-Identifier: MIT
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "vidrec/ingest/prepare.hpp"
#include "vidrec/ingest/spill.hpp"

namespace vidrec::cli {

void register_prepare(CLI::App& app) {
  auto cfg = std::make_shared<PrepareConfig>();
  auto weights = std::make_shared<std::vector<std::string>>();
  auto quiet = std::make_shared<bool>(false);
  auto memory = std::make_shared<std::string>();
  auto* sub = app.add_subcommand("prepare", "Raw interaction logs (CSV, optionally gzipped) -> dataset file");
  sub->add_option("inputs", cfg->inputs, "Input CSV logs; '-' or none reads stdin");
  sub->add_option("-o,--output", cfg->output, "Dataset file to write ('-' = stdout)")->required();
  sub->add_option("--rejects", cfg->rejects_path, "Write each rejected row as file:line<TAB>reason<TAB>text");
  sub->add_flag("--strict", cfg->strict, "Stop with exit code 1 at the first malformed row");
  sub->add_option("--weight", *weights, "TYPE=W: weight of every TYPE row instead of its interactionValue")
      ->take_all();
  sub->add_option("--ignore-type", cfg->ignore_types, "Drop rows of this interactionType (counted)")
      ->take_all();
  auto table = add_table_options(*sub, scope::Prepare);  // min-user-events, ..., columns, delimiter
  sub->add_option("--summary-json", cfg->summary_json_path, "Write the counts as JSON to this file");
  sub->add_option("--memory", *memory,
                  "Memory for aggregation, e.g. 256M or 2G; beyond it sorted runs spill to --tmp "
                  "(default: half of RAM or of the cgroup limit)");
  sub->add_option("--tmp", cfg->tmp_dir, "Directory for spilled runs (default: $TMPDIR or /tmp)");
  sub->add_option("--threads", cfg->threads,
                  "Threads reading, parsing and aggregating (0 = all cores; the output is the same for any)")
      ->capture_default_str();
  sub->add_flag("-q,--quiet", *quiet, "No progress or summary on stderr");
  sub->callback([cfg, weights, quiet, memory, table] {
    Settings s;
    s.prepare = std::move(*cfg);
    table(s);
    *cfg = std::move(s.prepare);
    if (!memory->empty()) cfg->memory = parse_memory_size(*memory);
    for (const std::string& w : *weights) add_type_weight(*cfg, w);
    cfg->progress = !*quiet;
    const PrepareReport rep = run_prepare(*cfg);
    if (!*quiet) std::fprintf(stderr, "%s\n", rep.to_text().c_str());
  });
}

}  // namespace vidrec::cli
