// SPDX-License-Identifier: MIT
// One register_<name> per subcommand: binds its options and sets the callback
// that runs it. Callbacks throw the library's typed errors; main maps them.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "vidrec/options/options.hpp"

namespace vidrec::cli {

void register_prepare(CLI::App& app);
void register_inspect(CLI::App& app);
void register_train(CLI::App& app);
void register_tune(CLI::App& app);
void register_recommend(CLI::App& app);
void register_similar(CLI::App& app);
void register_explain(CLI::App& app);
void register_split(CLI::App& app);
void register_evaluate(CLI::App& app);
void register_serve(CLI::App& app);
void register_sagemaker(CLI::App& app);
void register_export(CLI::App& app);
void register_import(CLI::App& app);
void register_report(CLI::App& app);
void register_index(CLI::App& app);

// The option table's entries offered in `scopes` (options/options.hpp) as
// flags of `sub`; the function returned applies those given, on the command
// line or in a --config file, to a Settings (ConfigError naming the flag).
std::function<void(Settings&)> add_table_options(CLI::App& sub, unsigned scopes);
// --config files of `app` whose unknown sections and keys are usage errors
// with a guess, `_` reading as `-` in keys.
void check_config_keys(CLI::App& app);
// CLI11's parse errors as "vidrec: usage error: ...", with a guess for an
// unexpected argument (a mistyped option or command).
std::string failure_message(const CLI::App* app, const CLI::Error& e);

}  // namespace vidrec::cli
