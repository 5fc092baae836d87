// SPDX-License-Identifier: MIT
#include "vidrec/report/svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace vidrec {

namespace {

constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};
const char* colour(size_t i) { return kPalette[i % (sizeof kPalette / sizeof *kPalette)]; }

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

std::string tick_label(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", std::abs(v) < 1e-12 ? 0.0 : v);
  return b;
}

bool usable(double v, bool log) { return std::isfinite(v) && (!log || v > 0); }

// Maps values of one axis onto pixels [p0, p1].
struct Scale {
  double lo, hi, p0, p1;
  bool log;
  double operator()(double v) const {
    const double t =
        log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo)) : (v - lo) / (hi - lo);
    return p0 + t * (p1 - p0);
  }
};

// Frame, ticks, labels and legend; returns the scales of the plot area.
std::pair<Scale, Scale> frame(std::string& o, const ChartSpec& spec, const std::vector<double>& xt,
                              const std::vector<double>& yt, const std::vector<std::string>& names,
                              bool x_ticks = true) {
  const int w = spec.width, h = spec.height, x1 = w - kRight, y1 = h - kBottom;
  o += "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(w) +
       "\" height=\"" + std::to_string(h) + "\" viewBox=\"0 0 " + std::to_string(w) + " " +
       std::to_string(h) + "\" role=\"img\">";
  o += "<title>" + html_escape(spec.title) + "</title>";
  o += "<text class=\"title\" x=\"" + num(w / 2.0) + "\" y=\"16\" text-anchor=\"middle\">" +
       html_escape(spec.title) + "</text>";
  const Scale sx{xt.front(), xt.back(), double(kLeft), double(x1), spec.x.log};
  const Scale sy{yt.front(), yt.back(), double(y1), double(kTop), spec.y.log};
  o += "<rect class=\"plot\" x=\"" + num(kLeft) + "\" y=\"" + num(kTop) + "\" width=\"" + num(x1 - kLeft) +
       "\" height=\"" + num(y1 - kTop) + "\" fill=\"none\" stroke=\"#999\"/>";
  for (double t : yt)
    o += "<line x1=\"" + num(kLeft) + "\" x2=\"" + num(x1) + "\" y1=\"" + num(sy(t)) + "\" y2=\"" +
         num(sy(t)) + "\" stroke=\"#eee\"/><text class=\"tick\" x=\"" + num(kLeft - 4) + "\" y=\"" +
         num(sy(t) + 4) + "\" text-anchor=\"end\">" + tick_label(t) + "</text>";
  for (double t : x_ticks ? xt : std::vector<double>{})
    o += "<text class=\"tick\" x=\"" + num(sx(t)) + "\" y=\"" + num(y1 + 14) + "\" text-anchor=\"middle\">" +
         tick_label(t) + "</text>";
  o += "<text class=\"label\" x=\"" + num((kLeft + x1) / 2.0) + "\" y=\"" + num(y1 + 30) +
       "\" text-anchor=\"middle\">" + html_escape(spec.x.label) + "</text>";
  o += "<text class=\"label\" transform=\"translate(12," + num((kTop + y1) / 2.0) +
       ") rotate(-90)\" text-anchor=\"middle\">" + html_escape(spec.y.label) + "</text>";
  double lx = kLeft;
  for (size_t i = 0; i < names.size(); ++i) {
    o += "<rect x=\"" + num(lx) + "\" y=\"" + num(h - 16) + "\" width=\"10\" height=\"10\" fill=\"" +
         colour(i) + "\"/><text class=\"legend\" x=\"" + num(lx + 14) + "\" y=\"" + num(h - 7) + "\">" +
         html_escape(names[i]) + "</text>";
    lx += 24 + 6.5 * double(names[i].size());
  }
  return {sx, sy};
}

// Every x (or y) of the series, and 0 when the axis is to include it.
std::vector<double> values(const std::vector<Series>& series, const Axis& axis, bool x) {
  std::vector<double> v;
  for (const Series& s : series) v.insert(v.end(), (x ? s.x : s.y).begin(), (x ? s.x : s.y).end());
  if (axis.zero) v.push_back(0);
  return v;
}

std::vector<std::string> names(const std::vector<Series>& series) {
  std::vector<std::string> n;
  for (const Series& s : series) n.push_back(s.name);
  return n;
}

}  // namespace

std::string html_escape(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&#39;";
        break;
      default:
        o += c;
    }
  return o;
}

std::vector<double> axis_ticks(const std::vector<double>& values, bool log) {
  double lo = INFINITY, hi = -INFINITY;
  for (double v : values)
    if (usable(v, log)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  if (log) {
    if (!(lo <= hi)) lo = hi = 1;
    const int d0 = int(std::floor(std::log10(lo))), d1 = std::max(d0 + 1, int(std::ceil(std::log10(hi))));
    const int every = (d1 - d0 + 5) / 6;  // at most ~6 labelled decades
    std::vector<double> t;
    for (int d = d0; d < d1 + every; d += every) t.push_back(std::pow(10.0, d));
    return t;
  }
  if (!(lo <= hi)) lo = 0, hi = 1;
  if (lo == hi) {
    const double d = lo == 0 ? 1 : std::abs(lo) * 0.5;
    lo -= d, hi += d;
  }
  const double raw = (hi - lo) / 5, mag = std::pow(10.0, std::floor(std::log10(raw))), f = raw / mag;
  const double step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  const double first = std::floor(lo / step), last = std::ceil(hi / step);
  std::vector<double> t;
  for (double i = first; i <= last; ++i) t.push_back(i * step);
  return t;
}

std::string line_chart(const ChartSpec& spec, const std::vector<Series>& series) {
  std::string o;
  const auto [sx, sy] = frame(o, spec, axis_ticks(values(series, spec.x, true), spec.x.log),
                              axis_ticks(values(series, spec.y, false), spec.y.log), names(series));
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    std::string pts;
    for (size_t j = 0; j < s.x.size() && j < s.y.size(); ++j)
      if (usable(s.x[j], spec.x.log) && usable(s.y[j], spec.y.log))
        pts += (pts.empty() ? "" : " ") + num(sx(s.x[j])) + "," + num(sy(s.y[j]));
    o += "<polyline class=\"series\" fill=\"none\" stroke-width=\"2\" stroke=\"" + std::string(colour(i)) +
         "\" points=\"" + pts + "\"/>";
  }
  return o + "</svg>";
}

std::string scatter_chart(const ChartSpec& spec, const std::vector<Series>& series, long best) {
  std::string o;
  const auto [sx, sy] = frame(o, spec, axis_ticks(values(series, spec.x, true), spec.x.log),
                              axis_ticks(values(series, spec.y, false), spec.y.log), names(series));
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    for (size_t j = 0; j < s.x.size() && j < s.y.size(); ++j) {
      if (!usable(s.x[j], spec.x.log) || !usable(s.y[j], spec.y.log)) continue;
      const std::string at = "cx=\"" + num(sx(s.x[j])) + "\" cy=\"" + num(sy(s.y[j])) + "\"";
      o += "<circle class=\"point\" " + at + " r=\"3\" fill=\"" + colour(i) + "\" fill-opacity=\"0.6\"/>";
      if (i == 0 && long(j) == best)
        o += "<circle class=\"best\" " + at + " r=\"8\" fill=\"none\" stroke=\"#000\" stroke-width=\"2\"/>";
    }
  }
  return o + "</svg>";
}

std::string bar_chart(const ChartSpec& spec, const std::vector<std::string>& categories,
                      const std::vector<Series>& series) {
  std::string o;
  std::vector<double> ys = values(series, spec.y, false);
  ys.push_back(0);
  const auto [sx, sy] = frame(o, spec, {0, double(std::max<size_t>(categories.size(), 1))},
                              axis_ticks(ys, false), names(series), false);
  const double group = sx(1) - sx(0), bar = group * 0.8 / double(std::max<size_t>(series.size(), 1));
  const size_t every = (categories.size() + 9) / 10;  // at most ~10 category labels
  for (size_t c = 0; c < categories.size(); ++c) {
    for (size_t i = 0; i < series.size(); ++i) {
      const double v = c < series[i].y.size() && std::isfinite(series[i].y[c]) ? series[i].y[c] : 0;
      const double top = sy(std::max(v, 0.0)), base = sy(0);
      o += "<rect class=\"bar\" x=\"" + num(sx(double(c)) + group * 0.1 + bar * double(i)) + "\" y=\"" +
           num(top) + "\" width=\"" + num(bar) + "\" height=\"" + num(base - top) + "\" fill=\"" + colour(i) +
           "\"/>";
    }
    if (c % every == 0)
      o += "<text class=\"tick\" x=\"" + num(sx(double(c) + 0.5)) + "\" y=\"" +
           num(spec.height - kBottom + 14) + "\" text-anchor=\"middle\">" + html_escape(categories[c]) +
           "</text>";
  }
  return o + "</svg>";
}

}  // namespace vidrec
