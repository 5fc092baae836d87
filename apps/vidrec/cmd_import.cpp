// SPDX-License-Identifier: MIT
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "vidrec/interop/import.hpp"

namespace vidrec::cli {

void register_import(CLI::App& app) {
  auto o = std::make_shared<ImportOptions>();
  auto quiet = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand("import", "NumPy or implicit factors + id lists -> model file");
  sub->add_option("dir", o->dir,
                  "Directory in `vidrec export`'s layout; the options below replace its files");
  sub->add_option("-o,--output", o->output, "Model file to write (atomically)")->required();
  sub->add_option("--user-factors", o->user_factors, ".npy, users x factors (float32 or float64)");
  sub->add_option("--item-factors", o->item_factors, ".npy, videos x factors (float32 or float64)");
  sub->add_option("--implicit", o->implicit_npz, ".npz of implicit's AlternatingLeastSquares.save()");
  sub->add_option("--user-ids", o->user_ids, "Text file, one user id per line in row order");
  sub->add_option("--item-ids", o->item_ids, "Text file, one video id per line in row order");
  sub->add_option("--meta", o->meta, "meta.json of `vidrec export`: the hyperparameters serve uses");
  sub->add_option("--dataset", o->dataset,
                  "Dataset with exactly these ids: seen videos (excluded), popularity, locations");
  sub->add_flag("-q,--quiet", *quiet, "No summary on stderr");
  sub->callback([o, quiet] {
    const ImportSummary s = import_model(*o);
    if (!*quiet)
      std::fprintf(stderr, "import: %u users, %u videos, %u factors from %s -> %s\n", s.users, s.videos,
                   s.factors, s.factors_from.c_str(), o->output.c_str());
  });
}

}  // namespace vidrec::cli
