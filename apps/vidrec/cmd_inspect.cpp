// SPDX-License-Identifier: MIT
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/inspect/inspect.hpp"

namespace vidrec::cli {

void register_inspect(CLI::App& app) {
  struct Options {
    std::string path;
    bool json = false;
    std::string dump;
  };
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand("inspect", "Describe a dataset or model file, or dump its contents");
  sub->add_option("file", o->path, "A .vrd dataset or .vrm model file ('-' = stdin)")->required();
  sub->add_flag("--json", o->json, "Print the description as JSON");
  sub->add_option("--dump", o->dump, "Write the aggregated pairs to stdout in this format")
      ->check(CLI::IsMember({"csv"}));
  sub->callback([o] {
    std::ios::sync_with_stdio(false);
    if (o->dump == "csv") {
      dump_pairs_csv(Dataset::open(o->path), std::cout);
    } else {
      const nlohmann::json j = describe_file(o->path);
      // Paths and ids from older files may not be UTF-8: replace, never throw.
      std::cout << (o->json ? j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"
                            : describe_text(j));
    }
    std::cout.flush();
    if (!std::cout) throw IoError("write to stdout failed");
  });
}

}  // namespace vidrec::cli
