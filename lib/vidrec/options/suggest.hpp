// SPDX-License-Identifier: MIT
// "Did you mean": the nearest valid name to a mistyped one, for the messages
// of unknown options, config keys, hyperparameters and subcommands.
//
// Contract
// - edit_distance is the optimal string alignment distance: insertions,
//   deletions, substitutions and swaps of two adjacent characters cost 1
//   ("trian" is 1 from "train").
// - nearest returns the candidate closest to `word`, the first of equals,
//   when it is within max(2, |word| / 3) edits; else "" (no guess is better
//   than a far-fetched one). Case, and `-` against `_`, count as equal.
#pragma once
#include <string>
#include <vector>

namespace vidrec {

size_t edit_distance(const std::string& a, const std::string& b);
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace vidrec
