// SPDX-License-Identifier: MIT
#include <cstdio>
#include <memory>
#include <string>

#include "commands.hpp"
#include "vidrec/model/indexing.hpp"

namespace vidrec::cli {

void register_index(CLI::App& app) {
  auto model = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  auto params = std::make_shared<AnnParams>();
  auto quiet = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand(
      "index", "Build an approximate nearest-neighbour index (HNSW) into a model file, for large catalogs");
  sub->add_option("model", *model, "Model file written by `vidrec train`")->required();
  sub->add_option("-o,--output", *output, "Model file to write (atomically; default: replace MODEL)");
  sub->add_option("--ann-m", params->m, "HNSW links per video")->capture_default_str();
  sub->add_option("--ann-ef-construction", params->ef_construction, "HNSW candidate list while building")
      ->capture_default_str();
  sub->add_option("--threads", params->threads, "Worker threads (0 = all cores; 1 = reproducible bytes)");
  sub->add_flag("-q,--quiet", *quiet, "No progress or summary on stderr");
  sub->callback([=] {
    params->method = AnnMethod::Hnsw;
    const std::string out = output->empty() ? *model : *output;
    index_model(*model, out, *params, !*quiet);
  });
}

}  // namespace vidrec::cli
