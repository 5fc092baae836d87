// SPDX-License-Identifier: MIT
// A float as the shortest decimal that reads back as the same float, held in
// a double: 0.01f is printed (and written to JSON or TOML) as 0.01, not as
// 0.009999999776482582, and parsing that text gives 0.01f again.
#pragma once
#include <charconv>
#include <cstdlib>
#include <string>

namespace vidrec {

inline double shortest_decimal(float v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::strtod(std::string(buf, r.ptr).c_str(), nullptr);
}

}  // namespace vidrec
