// SPDX-License-Identifier: MIT
#include <cstdio>
#include <map>
#include <memory>

#include "commands.hpp"
#include "vidrec/interop/export.hpp"

namespace vidrec::cli {

void register_export(CLI::App& app) {
  struct Options {
    std::string input, dir;
    ExportFormat format = ExportFormat::All;
    bool quiet = false;
  };
  auto o = std::make_shared<Options>();
  auto* sub =
      app.add_subcommand("export", "Model or dataset file -> NumPy/SciPy/implicit files in a directory");
  sub->add_option("file", o->input, "A .vrm model or .vrd dataset file")->required();
  sub->add_option("-o,--output", o->dir, "Directory to write into (created when missing)")->required();
  sub->add_option("--format", o->format,
                  "npy: the factors as .npy files; npz: implicit's model.npz; all (default): both")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, ExportFormat>{
              {"all", ExportFormat::All}, {"npy", ExportFormat::Npy}, {"npz", ExportFormat::Npz}},
          CLI::ignore_case));
  sub->add_flag("-q,--quiet", o->quiet, "Do not list the files written on stderr");
  sub->callback([o] {
    for (const std::string& f : export_file(o->input, o->dir, o->format))
      if (!o->quiet) std::fprintf(stderr, "export: wrote %s\n", f.c_str());
  });
}

}  // namespace vidrec::cli
