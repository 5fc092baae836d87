// SPDX-License-Identifier: MIT
// Interaction times: parsed from a log's timestamp field, formatted for
// inspect's dumps. Times are UTC seconds since the epoch, years 0001..9999.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace vidrec {

// The last date parsed, so a run of rows from one day validates it once.
struct DateCache {
  char date[10] = {};
  int64_t days = 0;
  bool valid = false;
};
// "YYYY-MM-DD HH:MM:SS", "YYYY-MM-DDTHH:MM:SS[Z]", integer epoch seconds, or
// epoch milliseconds (exactly 13 digits, 2001-09-09 to 2286-11-20), truncated
// to the second.
bool parse_timestamp(std::string_view s, int64_t& out, DateCache* cache = nullptr);
// Formats as "YYYY-MM-DD HH:MM:SS" (UTC).
std::string format_timestamp(int64_t t);

}  // namespace vidrec
