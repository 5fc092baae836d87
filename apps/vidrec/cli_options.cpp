// SPDX-License-Identifier: MIT
// CLI11 glue of the option table (options/options.hpp) and of its mistakes:
// --config keys checked against the options, and parse errors worded as
// vidrec's with a guess at what was meant.
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/options/suggest.hpp"

namespace vidrec::cli {

namespace {

std::string dashed(std::string name) {
  for (char& c : name)
    if (c == '_') c = '-';
  return name;
}

// The guess in the spelling of the mistake: cg_steps for cg_stesp.
std::string guess(const std::string& wrong, const std::vector<std::string>& names) {
  std::string best = nearest(wrong, names);
  if (wrong.find('_') != std::string::npos)
    for (char& c : best)
      if (c == '-') c = '_';
  return best;
}

std::vector<std::string> long_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* o : app.get_options())
    for (const std::string& n : o->get_lnames()) names.push_back(n);
  return names;
}

std::vector<std::string> subcommand_names(CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  return names;
}

CLI::App* find_subcommand(CLI::App& app, const std::string& name) {
  for (CLI::App* sub : app.get_subcommands({}))
    if (sub->check_name(name)) return sub;
  return nullptr;
}

bool has_option(CLI::App& app, const std::string& name) {
  return app.get_option_no_throw("--" + name) || (name.size() == 1 && app.get_option_no_throw("-" + name)) ||
         app.get_option_no_throw(name);
}

// CLI11's TOML/INI reader, plus: `_` in keys reads as `-`, and a section
// naming no subcommand or a key naming none of its options is a usage error
// (CLI11 ignores both). Every section is checked, not only the command's:
// a typo in [prepare] is one whatever the file is read for.
class CheckedConfig : public CLI::ConfigBase {
 public:
  explicit CheckedConfig(CLI::App& app) : app_(app) {}

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    std::vector<CLI::ConfigItem> parsed = CLI::ConfigBase::from_config(input);
    for (CLI::ConfigItem& item : parsed)
      if (item.name != "++" && item.name != "--") check(item);  // CLI11's section open/close marks
    return parsed;
  }

 private:
  CLI::App& app_;

  std::string file() const {
    const std::vector<std::string> files = app_.get_config_ptr()->as<std::vector<std::string>>();
    return files.size() == 1 ? files[0] : "the --config file";
  }

  void check(CLI::ConfigItem& item) const {
    CLI::App* sub = &app_;
    std::string section;
    for (const std::string& name : item.parents) {
      CLI::App* next = find_subcommand(*sub, name);
      const std::string prefix = section.empty() ? "" : section + ".";
      if (!next) {
        const std::string near = guess(name, subcommand_names(*sub));
        throw ConfigError("unknown section [" + prefix + name + "] in " + file() +
                          (near.empty() ? "" : "; did you mean [" + prefix + near + "]?"));
      }
      section = prefix + name;
      sub = next;
    }
    const std::string name = dashed(item.name);
    if (has_option(*sub, name)) {
      item.name = name;
      return;
    }
    if (section.empty())
      throw ConfigError("unknown key '" + item.name + "' outside any section of " + file() +
                        "; options go in the section of their command, e.g. [train]");
    const std::string near = guess(item.name, long_names(*sub));
    throw ConfigError("unknown key '" + item.name + "' in [" + section + "] of " + file() +
                      (near.empty() ? "" : "; did you mean '" + near + "'?"));
  }
};

// For the arguments left over: the nearest option of the command, or,
// before any command, the nearest command; the message names the argument
// (CLI11's own may be about another: a required option it then misses).
std::string guess_for_remaining(const CLI::App& root) {
  const CLI::App* app = &root;
  while (!app->get_subcommands().empty()) app = app->get_subcommands().front();
  for (const std::string& arg : root.remaining(true)) {
    if (arg.size() > 2 && arg.compare(0, 2, "--") == 0) {
      std::vector<std::string> names = long_names(*app);
      for (const CLI::App* up = app->get_parent(); up; up = up->get_parent())  // fallthrough
        for (const std::string& n : long_names(*up)) names.push_back(n);
      const std::string near = guess(arg.substr(2, arg.find('=') - 2), names);
      if (!near.empty())
        return "unknown option " + arg.substr(0, arg.find('=')) + "; did you mean --" + near + "?";
    } else if (app == &root && !arg.empty() && arg[0] != '-') {
      const std::string near = guess(arg, subcommand_names(const_cast<CLI::App&>(root)));
      if (!near.empty()) return "unknown command '" + arg + "'; did you mean '" + near + "'?";
    }
  }
  return "";
}

}  // namespace

std::function<void(Settings&)> add_table_options(CLI::App& sub, unsigned scopes) {
  struct Bound {
    const Option* option;
    CLI::Option* cli;
    std::shared_ptr<std::string> text;
  };
  std::vector<Bound> bound;
  const Settings defaults;
  for (const Option& o : options()) {
    if (!(o.scopes & scopes)) continue;
    auto text = std::make_shared<std::string>();
    CLI::Option* c = nullptr;
    if (o.flag()) {
      c = sub.add_flag("--" + o.name, o.help);
    } else {
      c = sub.add_option("--" + o.name, *text, o.help)->type_name(o.value);
      const std::string shown = o.text(defaults, false);
      if (!shown.empty()) c->default_str(shown);
    }
    bound.push_back({&o, c, text});
  }
  return [bound](Settings& s) {
    for (const Bound& b : bound)
      if (b.cli->count() > 0)
        b.option->set(s, b.option->flag() ? (b.cli->as<bool>() ? "true" : "false") : *b.text,
                      "--" + b.option->name);
  };
}

void check_config_keys(CLI::App& app) { app.config_formatter(std::make_shared<CheckedConfig>(app)); }

std::string failure_message(const CLI::App* app, const CLI::Error& e) {
  // Whatever the error (`vidrec trian` is "A subcommand is required"), an
  // argument left over with a near match is the likely mistake.
  const std::string guessed = guess_for_remaining(*app);
  return "vidrec: usage error: " + (guessed.empty() ? std::string(e.what()) : guessed) + "\n";
}

}  // namespace vidrec::cli
