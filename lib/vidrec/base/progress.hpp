// SPDX-License-Identifier: MIT
// Progress on stderr for long work: a redrawn bar on a terminal, a plain line
// every few seconds otherwise (cron mail, CI logs). update() is cheap enough to
// call every few thousand items; it reads the clock and rarely prints.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace vidrec {

class Progress {
 public:
  // total 0 means unknown (a pipe): then only the detail text is shown.
  Progress(std::string label, uint64_t total, bool enabled);
  // `force` reports this step even if the last report was moments ago (one
  // line per training iteration when stderr is not a terminal).
  void update(uint64_t done, const std::string& detail, bool force = false);
  void set_total(uint64_t total) { total_ = total; }
  // Ends the bar; prints `summary` as a final line when non-empty.
  void finish(const std::string& summary);
  double elapsed() const;

 private:
  std::string label_;
  uint64_t total_;
  bool enabled_;
  bool tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

// "1.5 MB", "2.3 GB" for byte counts in messages.
std::string human_bytes(double bytes);

}  // namespace vidrec
