// SPDX-License-Identifier: MIT
// vidrec: dispatches to a subcommand and turns errors into exit codes:
// 0 ok, 1 runtime/data error, 2 usage error. Messages go to stderr.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>

#include "commands.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/io/paths.hpp"

namespace {

struct Command {
  const char* name;
  void (*add)(CLI::App&);
};
constexpr Command kCommands[] = {
    {"prepare", vidrec::cli::register_prepare},   {"train", vidrec::cli::register_train},
    {"tune", vidrec::cli::register_tune},         {"recommend", vidrec::cli::register_recommend},
    {"similar", vidrec::cli::register_similar},   {"explain", vidrec::cli::register_explain},
    {"inspect", vidrec::cli::register_inspect},   {"split", vidrec::cli::register_split},
    {"evaluate", vidrec::cli::register_evaluate}, {"serve", vidrec::cli::register_serve},
    {"sagemaker", vidrec::cli::register_sagemaker}, {"export", vidrec::cli::register_export},
    {"import", vidrec::cli::register_import},     {"report", vidrec::cli::register_report},
    {"index", vidrec::cli::register_index},
};

// The one command to build, or nullptr for all. CLI11 constructs every
// option it is given, and all fifteen commands' were ~0.5 ms of each start:
// a call naming its command first builds only that one. All are built for
// --help, a mistyped command (the guess needs their names), or --config
// (its file's sections name any command, all checked).
const char* wanted_command(int argc, char** argv) {
  if (argc < 2) return nullptr;
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--config", 8) == 0 && (argv[i][8] == '\0' || argv[i][8] == '=')) return nullptr;
  for (const Command& c : kCommands)
    if (std::strcmp(argv[1], c.name) == 0) return c.name;
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  // Past a file-size limit (ulimit -f) write() then fails with EFBIG and the
  // atomic writer reports it, instead of the process dying of SIGXFSZ.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"vidrec: video recommendations from interaction logs"};
  app.set_version_flag("--version", "vidrec " VIDREC_VERSION);
  app.require_subcommand(1);
  // Settings for cron jobs in one file, one [section] per subcommand, e.g.
  // [train] factors = 64. Subcommands fall through to it, so
  // `vidrec train ... --config FILE` works.
  app.set_config("--config", "", "Read options from a TOML/INI file ([train], [prepare] sections)")
      // Checked as it is parsed, before CLI11 reads it: /dev/zero or a FIFO
      // would be read forever. A missing file stays CLI11's usage error.
      ->each([](const std::string& path) {
        if (::access(path.c_str(), F_OK) == 0) vidrec::require_regular_file(path);
      })
      ->trigger_on_parse();
  vidrec::cli::check_config_keys(app);
  app.failure_message(vidrec::cli::failure_message);
  const char* wanted = wanted_command(argc, argv);
  for (const Command& c : kCommands)
    if (wanted == nullptr || std::strcmp(wanted, c.name) == 0) c.add(app);
  for (CLI::App* sub : app.get_subcommands({})) sub->fallthrough();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  } catch (const vidrec::ReportedElsewhere& e) {  // rank 0 of the job printed it
    return e.exit_code;
  } catch (const vidrec::ConfigError& e) {
    std::fprintf(stderr, "vidrec: usage error: %s\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "vidrec: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vidrec: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
