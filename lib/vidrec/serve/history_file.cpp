// SPDX-License-Identifier: MIT
#include "vidrec/serve/history_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <sstream>
#include <string_view>
#include <utility>

#include "vidrec/base/errors.hpp"
#include "vidrec/io/paths.hpp"

namespace vidrec {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// The id field: plain, or quoted with "" for a quote. False when malformed.
bool unquote(std::string_view s, std::string& out) {
  out.clear();
  if (s.empty() || s.front() != '"') {
    out = s;
    return s.find('"') == std::string_view::npos;
  }
  if (s.size() < 2 || s.back() != '"') return false;
  s = s.substr(1, s.size() - 2);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '"' && (i + 1 == s.size() || s[++i] != '"')) return false;
    out += s[i];
  }
  return true;
}

}  // namespace

std::vector<HistoryItem> read_history_file(const std::string& path) {
  const std::string name = path == "-" ? "<stdin>" : path;
  // A named file must be a regular file (a FIFO would block, /dev/zero never end).
  const int fd = path == "-" ? ::dup(STDIN_FILENO) : open_regular(path);
  if (fd < 0) throw IoError(sys_error("cannot open", name));
  std::string text;
  char buf[65536];
  for (ssize_t got; (got = ::read(fd, buf, sizeof buf)) != 0;) {
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const std::string msg = sys_error("read failed", name);
      ::close(fd);
      throw IoError(msg);
    }
    text.append(buf, size_t(got));
  }
  ::close(fd);
  std::istringstream in(text);
  std::vector<HistoryItem> items;
  std::string line;
  bool first = true;
  for (uint64_t number = 1; std::getline(in, line); ++number) {
    const std::string_view s = trim(line);
    if (s.empty()) continue;
    const std::string where = name + ":" + std::to_string(number) + ": ";
    const size_t comma = s.rfind(',');
    if (comma == std::string_view::npos) throw InputError(where + "expected videoId,value");
    const std::string_view value = trim(s.substr(comma + 1));
    HistoryItem item;
    const auto r = std::from_chars(value.data(), value.data() + value.size(), item.value);
    const bool number_ok = r.ec == std::errc() && r.ptr == value.data() + value.size();
    if (std::exchange(first, false) && !number_ok) continue;  // a header
    if (!number_ok || !std::isfinite(item.value) || std::abs(item.value) > kMaxHistoryValue)
      throw InputError(where + "the value '" + std::string(value) + "' is not a number within +-" +
                       std::to_string(int64_t(kMaxHistoryValue)));
    if (!unquote(trim(s.substr(0, comma)), item.video_id) || item.video_id.empty())
      throw InputError(where + "malformed or empty videoId");
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace vidrec
