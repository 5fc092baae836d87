// SPDX-License-Identifier: MIT
#include "vidrec/base/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace vidrec {

namespace {
using Clock = std::chrono::steady_clock;
constexpr double kTtyInterval = 0.2;    // seconds between redraws of the bar
constexpr double kPlainInterval = 5.0;  // seconds between plain lines
}  // namespace

std::string human_bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

Progress::Progress(std::string label, uint64_t total, bool enabled)
    : label_(std::move(label)),
      total_(total),
      enabled_(enabled),
      tty_(::isatty(STDERR_FILENO) != 0),
      start_(Clock::now()),
      last_(start_) {}

double Progress::elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

void Progress::update(uint64_t done, const std::string& detail, bool force) {
  if (!enabled_) return;
  const auto now = Clock::now();
  const double since = std::chrono::duration<double>(now - last_).count();
  if (!force && since < (tty_ ? kTtyInterval : kPlainInterval)) return;
  last_ = now;
  const double secs = elapsed();
  const double frac = total_ ? std::min(1.0, double(done) / double(total_)) : 0.0;
  if (tty_) {
    char bar[31] = {};
    const int filled = int(frac * 30);
    for (int i = 0; i < 30; ++i) bar[i] = i < filled ? '#' : '.';
    if (total_)
      std::fprintf(stderr, "\r%s [%s] %3.0f%% %s %.1fs\x1b[K", label_.c_str(), bar, frac * 100,
                   detail.c_str(), secs);
    else
      std::fprintf(stderr, "\r%s %s %.1fs\x1b[K", label_.c_str(), detail.c_str(), secs);
    drawn_ = true;
  } else if (total_) {
    std::fprintf(stderr, "%s: %.0f%% %s %.1fs\n", label_.c_str(), frac * 100, detail.c_str(), secs);
  } else {
    std::fprintf(stderr, "%s: %s %.1fs\n", label_.c_str(), detail.c_str(), secs);
  }
  std::fflush(stderr);
}

void Progress::finish(const std::string& summary) {
  if (!enabled_) return;
  if (drawn_) std::fprintf(stderr, "\r\x1b[K");
  if (!summary.empty()) std::fprintf(stderr, "%s: %s\n", label_.c_str(), summary.c_str());
  drawn_ = false;
  std::fflush(stderr);
}

}  // namespace vidrec
