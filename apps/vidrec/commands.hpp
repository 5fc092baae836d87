// SPDX-License-Identifier: MIT
// One register_<name> per subcommand: binds its options and sets the callback
// that runs it. Callbacks throw the library's typed errors; main maps them.
#pragma once
#include <CLI/CLI.hpp>

namespace vidrec::cli {

void register_prepare(CLI::App& app);
void register_inspect(CLI::App& app);
void register_train(CLI::App& app);
void register_tune(CLI::App& app);
void register_recommend(CLI::App& app);
void register_similar(CLI::App& app);
void register_split(CLI::App& app);
void register_evaluate(CLI::App& app);
void register_serve(CLI::App& app);
void register_sagemaker(CLI::App& app);
void register_export(CLI::App& app);
void register_import(CLI::App& app);

}  // namespace vidrec::cli
