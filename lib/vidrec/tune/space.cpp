// SPDX-License-Identifier: MIT
#include "vidrec/tune/space.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include "vidrec/als/weighting.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/io/paths.hpp"

namespace vidrec {

namespace {

enum class Kind { Int, Real, Duration, Category };

// A parameter's domain, as AlsConfig::validate and Weighting::validate state it.
struct Def {
  const char* name;
  Kind kind;
  double lo, hi;
  bool lo_open;  // lo itself excluded
  bool log;      // a range's default scale
  const char* rule;
};

constexpr double kInf = std::numeric_limits<double>::infinity();

const Def kDefs[kParams] = {
    {"factors", Kind::Int, 1, 4096, false, true, "an integer between 1 and 4096"},
    {"iterations", Kind::Int, 1, 100000, false, false, "an integer between 1 and 100000"},
    {"regularization", Kind::Real, 0, kInf, false, true, "finite and >= 0"},
    {"alpha", Kind::Real, 0, kInf, false, true, "finite and >= 0"},
    {"confidence", Kind::Category, 0, 1, false, false, "linear or log"},
    {"epsilon", Kind::Real, 0, kInf, true, true, "finite and > 0"},
    {"unobserved-weight", Kind::Real, 0, 1e6, true, true, "> 0 and <= 1e6"},
    {"reg-exponent", Kind::Real, 0, 2, false, false, "between 0 and 2"},
    {"negative-weight", Kind::Real, 0, kInf, false, true, "finite and >= 0"},
    {"weighting", Kind::Category, 0, 2, false, false, "none, bm25 or tfidf"},
    {"bm25-k1", Kind::Real, 0, kInf, true, true, "finite and > 0"},
    {"bm25-b", Kind::Real, 0, 1, false, false, "between 0 and 1"},
    {"half-life", Kind::Duration, 0, kInf, false, true, "a duration >= 0 (seconds, or e.g. \"30d\")"},
};

const Def& def(Param p) { return kDefs[size_t(p)]; }

std::string show(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

[[noreturn]] void fail(const std::string& source, Param p, const std::string& what) {
  throw ConfigError(source + ": " + param_name(p) + ": " + what);
}

double category_index(const std::string& source, Param p, const std::string& name) {
  const auto& names = category_names(p);
  const auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) fail(source, p, std::string("must be ") + def(p).rule + ", got \"" + name + "\"");
  return double(it - names.begin());
}

// One value of parameter p from the file, checked against its domain.
double value_of(const std::string& source, Param p, const nlohmann::json& j) {
  const Def& d = def(p);
  double v = 0;
  if (d.kind == Kind::Category) {
    if (!j.is_string()) fail(source, p, std::string("must be ") + d.rule + ", got " + j.dump());
    return category_index(source, p, j.get<std::string>());
  }
  if (d.kind == Kind::Duration && j.is_string()) {
    try {
      v = parse_duration(j.get<std::string>());
    } catch (const ConfigError& e) {
      fail(source, p, e.what());
    }
  } else if (j.is_number()) {
    v = j.get<double>();
  } else {
    fail(source, p, std::string("must be ") + d.rule + ", got " + j.dump());
  }
  const bool integral = d.kind != Kind::Int || v == std::floor(v);
  if (!(std::isfinite(v) && integral && v <= d.hi && (d.lo_open ? v > d.lo : v >= d.lo)))
    fail(source, p, std::string("must be ") + d.rule + ", got " + show(v));
  return v;
}

ParamSpec range_of(const std::string& source, Param p, const nlohmann::json& j) {
  ParamSpec s;
  s.log = def(p).log;
  bool has_min = false, has_max = false;
  for (const auto& [key, v] : j.items()) {
    if (key == "min") {
      s.min = value_of(source, p, v);
      has_min = true;
    } else if (key == "max") {
      s.max = value_of(source, p, v);
      has_max = true;
    } else if (key == "log") {
      if (!v.is_boolean()) fail(source, p, "\"log\" must be true or false, got " + v.dump());
      s.log = v.get<bool>();
    } else if (key == "zero") {
      if (!v.is_number() || !(v.get<double>() >= 0 && v.get<double>() <= 1))
        fail(source, p, "\"zero\" must be a probability between 0 and 1, got " + v.dump());
      s.zero = v.get<double>();
    } else if (key != "choices") {
      fail(source, p, "unknown key \"" + key + "\" (a range has min, max, log, zero)");
    }
  }
  if (!has_min || !has_max) fail(source, p, "a range needs both \"min\" and \"max\"");
  if (s.min > s.max) fail(source, p, "min " + show(s.min) + " is above max " + show(s.max));
  if (s.log && s.min <= 0) fail(source, p, "a log range needs min > 0, got " + show(s.min));
  if (s.zero > 0 && (def(p).lo_open || def(p).lo > 0)) fail(source, p, "0 is not a value it can take");
  return s;
}

ParamSpec spec_of(const std::string& source, Param p, const nlohmann::json& j) {
  ParamSpec s;
  if (!j.is_object()) {
    s.choices = {value_of(source, p, j)};
    return s;
  }
  if (!j.contains("choices")) {
    if (def(p).kind == Kind::Category) fail(source, p, "takes a value or {\"choices\": [...]}, not a range");
    return range_of(source, p, j);
  }
  if (j.size() != 1) fail(source, p, "\"choices\" goes alone (not with min, max, log or zero)");
  const nlohmann::json& c = j["choices"];
  if (!c.is_array() || c.empty()) fail(source, p, "\"choices\" must be a non-empty list");
  for (const auto& v : c) s.choices.push_back(value_of(source, p, v));
  return s;
}

ParamSpec choices(std::vector<double> values) {
  ParamSpec s;
  s.choices = std::move(values);
  return s;
}

ParamSpec range(double min, double max, bool log, double zero = 0) {
  ParamSpec s;
  s.min = min;
  s.max = max;
  s.log = log;
  s.zero = zero;
  return s;
}

}  // namespace

const char* param_name(Param p) { return def(p).name; }

const std::vector<std::string>& category_names(Param p) {
  static const std::vector<std::string> confidence{"linear", "log"}, weighting{"none", "bm25", "tfidf"}, none;
  return p == Param::Confidence ? confidence : p == Param::Weighting ? weighting : none;
}

SearchSpace default_space(const DataFacts& facts) {
  SearchSpace s;
  s[Param::Factors] = choices({16, 32, 64, 128, 256});
  s[Param::Iterations] = range(4, 32, false);
  s[Param::Regularization] = range(1e-2, 100, true);
  s[Param::Alpha] = range(0.1, 100, true);
  s[Param::Confidence] = choices({0, 1});
  s[Param::Epsilon] = range(0.01, 10, true);
  s[Param::UnobservedWeight] = range(1e-3, 1, true);
  s[Param::RegExponent] = choices({0, 0.5, 1});
  s[Param::NegativeWeight] = facts.negative_weights ? range(0.01, 1, true, 0.25) : choices({0});
  s[Param::Weighting] = choices({0, 1, 2});
  s[Param::Bm25K1] = range(1, 1000, true);
  s[Param::Bm25B] = range(0, 1, false);
  if (facts.time_span > 0) {
    const double lo = std::max(1.0, std::round(double(facts.time_span) / 100));
    s[Param::HalfLife] = range(lo, std::max(lo, 2.0 * double(facts.time_span)), true, 0.5);
  } else {
    s[Param::HalfLife] = choices({0});
  }
  return s;
}

void apply_space(SearchSpace& space, const nlohmann::json& doc, const std::string& source) {
  if (!doc.is_object()) throw ConfigError(source + ": the search space must be a JSON object");
  for (const auto& [key, value] : doc.items()) {
    size_t i = 0;
    while (i < kParams && key != kDefs[i].name) ++i;
    if (i == kParams) {
      std::string known;
      for (const Def& d : kDefs) known += std::string(known.empty() ? "" : ", ") + d.name;
      throw ConfigError(source + ": unknown key \"" + key + "\" (the parameters are " + known + ")");
    }
    space.spec[i] = spec_of(source, Param(i), value);
  }
}

nlohmann::json read_space_file(const std::string& path) {
  require_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) throw IoError(sys_error("cannot read", path));
  try {
    return nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw ConfigError(path + ": not valid JSON: " + e.what());
  }
}

Point SearchSpace::decode(const Point& u) const {
  Point v{};
  for (size_t i = 0; i < kParams; ++i) {
    const ParamSpec& s = spec[i];
    if (!s.choices.empty()) {
      const size_t n = s.choices.size();
      v[i] = s.choices[std::min(n - 1, size_t(u[i] * double(n)))];
      continue;
    }
    if (u[i] < s.zero) {
      v[i] = 0;
      continue;
    }
    const double w = s.zero > 0 ? (u[i] - s.zero) / (1 - s.zero) : u[i];
    v[i] = s.log ? std::exp(std::log(s.min) + w * (std::log(s.max) - std::log(s.min)))
                 : s.min + w * (s.max - s.min);
    v[i] = std::clamp(v[i], s.min, s.max);  // exp(log(max)) may land an ulp outside
    if (kDefs[i].kind != Kind::Real) v[i] = std::round(v[i]);
  }
  v[size_t(Param::Iterations)] = rungs().front();
  return v;
}

std::vector<uint32_t> SearchSpace::rungs() const {
  const ParamSpec& s = (*this)[Param::Iterations];
  std::vector<uint32_t> r;
  if (!s.choices.empty()) {
    for (double c : s.choices) r.push_back(uint32_t(c));
    std::sort(r.begin(), r.end());
    r.erase(std::unique(r.begin(), r.end()), r.end());
    return r;
  }
  const uint32_t min = uint32_t(s.min), max = uint32_t(s.max);
  for (uint64_t it = min; it < max; it *= 2) r.push_back(uint32_t(it));
  r.push_back(max);
  return r;
}

double typical_row(const DataFacts& facts, double unobserved_weight) {
  const double users = std::max(1.0, double(facts.users)), videos = std::max(1.0, double(facts.videos));
  const double p = double(facts.positives);
  return std::sqrt((p / users + unobserved_weight * videos) * (p / videos + unobserved_weight * users));
}

}  // namespace vidrec
