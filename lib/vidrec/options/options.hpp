// SPDX-License-Identifier: MIT
// The one table of training and preparation options: `vidrec train`'s and
// `vidrec prepare`'s flags, the keys of their `--config` sections, SageMaker's
// hyperparameters and the argv of every rank of a multi-process job all come
// from it, so a name or a parser cannot drift between them.
//
// Contract
// - Each option has one canonical name, the CLI spelling with `-`
//   ("cg-steps"); find_option also takes it with `_` ("cg_steps").
// - set() parses a text (a flag's value, a config value, a hyperparameter
//   string) into Settings, throwing ConfigError "<what> must be ..., got
//   '<text>'", where `what` names the option as the user wrote it. Types and
//   choices are checked here; ranges by AlsConfig / Weighting /
//   PrepareConfig validate(), so each rule lives in one place.
// - text() is the inverse: set(text(s)) gives back the same value. exact:
//   floats as their exact decimal expansion, which any correct parser
//   (CLI11's strtold-then-round too) reads back unchanged; else the shortest
//   decimal that reads back. An unset optional value is "".
// - Scopes say where an option is offered: Train (train's flags and [train]),
//   Prepare (prepare's), SageMaker (hyperparameters.json) and Ranks (passed
//   to each rank of a multi-process job, in table order).
// - Adding an option is one line in options.cpp's table.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "vidrec/als/config.hpp"
#include "vidrec/als/weighting.hpp"
#include "vidrec/ingest/prepare.hpp"
#include "vidrec/model/ann.hpp"

namespace vidrec {

// Everything the table sets.
struct Settings {
  AlsConfig als;
  Weighting weighting;
  PrepareConfig prepare;  // the thresholds and the input layout (columns, delimiter)
  AnnParams ann;          // train --ann: the index built with the model
  unsigned processes_per_host = 1;
  unsigned mpi_wait_seconds = 3600;  // leader: for every worker's ssh; worker: for the job
};

namespace scope {
constexpr unsigned Train = 1, Prepare = 2, SageMaker = 4, Ranks = 8;
}

struct Option {
  std::string name;   // canonical: "cg-steps"
  std::string value;  // what the value looks like in help: "N", "X", "linear|log"; "" for a flag
  std::string help;
  unsigned scopes = 0;
  std::vector<std::string> choices;  // the valid texts, when they are a list
  std::function<void(Settings&, const std::string& text, const std::string& what)> set;
  std::function<std::string(const Settings&, bool exact)> text;
  bool flag() const { return value.empty(); }
};

// In help order; Ranks options also in the order ranks get them.
const std::vector<Option>& options();
// By either spelling, offered in one of `scopes`; nullptr when there is none.
const Option* find_option(const std::string& name, unsigned scopes);
// "; did you mean 'cg_steps'?" for an unknown name (in the name's own
// spelling, `-` or `_`), or "" when nothing is near.
std::string did_you_mean(const std::string& name, unsigned scopes);

}  // namespace vidrec
