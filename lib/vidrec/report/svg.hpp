// SPDX-License-Identifier: MIT
// Charts for `vidrec report`, written as plain SVG by the tool: no script,
// no library, no network, and the same input gives the same bytes.
//
// Contract
// - A chart is one <svg class="chart"> element of the given size with a plot
//   area inset by kLeft/kRight/kTop/kBottom pixels, a title, axis labels,
//   ticks and a legend. Axes span "nice" ranges (1, 2 or 5 times a power of
//   ten a step, about five ticks) that hold every finite point; a log axis
//   spans whole decades and skips points <= 0. Non-finite points are skipped.
// - A value x maps to kLeft + (x - lo) / (hi - lo) * plot width (y upwards
//   from the bottom, likewise; on a log axis the same in log10), coordinates
//   printed with two decimals.
// - Series are drawn as a <polyline class="series"> (line charts) or
//   <circle class="point"> elements (scatter), one colour each from a fixed
//   palette; a scatter's highlighted point is a larger ring of class "best".
//   Bars are <rect class="bar">, one group per category, from 0 up.
// - Every text (titles, labels, series names, categories) is HTML-escaped.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace vidrec {

// &, <, >, " and ' as entities: safe in element content and quoted attributes.
std::string html_escape(std::string_view s);

struct Series {
  std::string name;
  std::vector<double> x, y;  // same length; bar charts use y only
};

struct Axis {
  std::string label;
  bool log = false;
  bool zero = false;  // the range includes 0 (linear axes)
};

struct ChartSpec {
  std::string title;
  Axis x, y;
  int width = 420, height = 260;
};

constexpr int kLeft = 58, kRight = 12, kTop = 26, kBottom = 58;

// The nice range and ticks of an axis over `values`: ticks[0] = lo, back() = hi.
std::vector<double> axis_ticks(const std::vector<double>& values, bool log);

std::string line_chart(const ChartSpec& spec, const std::vector<Series>& series);
// `best`: index of the point of series[0] to mark, or -1.
std::string scatter_chart(const ChartSpec& spec, const std::vector<Series>& series, long best = -1);
std::string bar_chart(const ChartSpec& spec, const std::vector<std::string>& categories,
                      const std::vector<Series>& series);

}  // namespace vidrec
