// SPDX-License-Identifier: MIT
// `recommend --history FILE`: a user's fresh activity as CSV lines
// `videoId,value` ("-" = stdin), the same items an /invocations "history"
// holds, for the fold-in serve does (api.hpp: answer_invocation).
//
// Contract: LF or CRLF lines; blank lines skipped; spaces around fields
// trimmed; a first line whose value is not a number is a header; the id
// may be quoted ("" is a quote inside); the value must be a finite number
// with |value| <= kMaxHistoryValue. Anything else is an InputError naming
// the file and line; a named file must be a regular file.
#pragma once
#include <string>
#include <vector>

#include "vidrec/serve/requests.hpp"

namespace vidrec {

std::vector<HistoryItem> read_history_file(const std::string& path);

}  // namespace vidrec
