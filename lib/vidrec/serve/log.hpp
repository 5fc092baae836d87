// SPDX-License-Identifier: MIT
// The server's stderr log: one JSON line per event or request, each written
// with one write(2) so that lines from many threads never interleave, and a
// gone stderr never takes the server down.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace vidrec {

void log_line(std::string line);  // appends the newline
std::string now_iso8601();        // UTC, milliseconds: 2025-01-01T10:00:00.123Z
// {"time":..., then the event's fields}.
void log_event(const nlohmann::ordered_json& event);

}  // namespace vidrec
