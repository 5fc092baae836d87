// SPDX-License-Identifier: MIT
#include "vidrec/serve/log.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace vidrec {

// A whole line in one write(2), so lines from request threads never interleave.
void log_line(std::string line) {
  line += '\n';
  for (size_t done = 0; done < line.size();) {
    const ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n <= 0) return;  // stderr gone: logging must not take the server down
    done += size_t(n);
  }
}

std::string now_iso8601() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const long ms =
      long(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

void log_event(const nlohmann::ordered_json& event) {
  nlohmann::ordered_json line{{"time", now_iso8601()}};
  line.update(event);
  log_line(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace vidrec
