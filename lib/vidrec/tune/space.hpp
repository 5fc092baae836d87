// SPDX-License-Identifier: MIT
// tune's search space: what each hyperparameter may take, the default space,
// the --space file that overrides it, and points drawn from it.
//
// Contract
// - Parameters carry train's long option names: factors, iterations,
//   regularization, alpha, confidence, epsilon, unobserved-weight,
//   reg-exponent, negative-weight, weighting, bm25-k1, bm25-b, half-life.
// - Each is a list of choices (one choice = a fixed value) or a range
//   [min, max], log-uniform or uniform, with an optional probability `zero`
//   of taking 0 instead (0 = off for half-life and negative-weight).
// - A point is drawn as one unit coordinate u in [0, 1) per parameter, always
//   all of them in this order, so fixing one parameter leaves the others'
//   draws unchanged: choices take index floor(u * n); a range takes
//   min + u (max - min), or exp of that in logs; integer parameters round to
//   the nearest integer.
// - `iterations` is not drawn: its values are the rungs of successive
//   halving (schedule.hpp). A range gives min, 2 min, 4 min, ... up to max
//   (max itself added when the doubling misses it); choices give themselves.
// - `regularization` is the penalty of a typical row, lambda_r of
//   als/config.hpp at n_r + alpha0 n = s, where s is the geometric mean of
//   the average user's (positives / users + alpha0 videos) and the average
//   video's (positives / videos + alpha0 users). With reg-exponent nu, train
//   gets regularization / s^nu, so one range serves every nu (with nu = 0 it
//   is train's regularization itself). Every other value is train's own.
// - Default space: factors {16, 32, 64, 128, 256}; iterations 4..32
//   (rungs 4, 8, 16, 32); regularization log [0.01, 100]; alpha log [0.1, 100];
//   confidence {linear, log}; epsilon log [0.01, 10]; unobserved-weight
//   log [1e-3, 1]; reg-exponent {0, 0.5, 1}; weighting {none, bm25, tfidf};
//   bm25-k1 log [1, 1000]; bm25-b [0, 1]; half-life 0 with probability 1/2,
//   else log [span / 100, 2 span] seconds when the data's timestamps span
//   span > 0 seconds, and 0 (no decay) otherwise; negative-weight 0 with
//   probability 1/4, else log [0.01, 1] when the data holds negative weights,
//   and 0 otherwise.
// - The --space file is a JSON object; each key replaces that parameter's
//   spec: a bare value fixes it (`"factors": 64`, `"weighting": "bm25"`,
//   `"half-life": "30d"`), `{"choices": [...]}` lists values, and
//   `{"min": a, "max": b, "log": true|false, "zero": p}` is a range ("log"
//   defaults as in the default space: true but for iterations, reg-exponent
//   and bm25-b). Durations are seconds or strings such as "30d".
//   Unknown keys, values outside a parameter's domain (the rules of
//   AlsConfig::validate and Weighting::validate), min > max, or a log range
//   with min <= 0 are ConfigErrors naming the file and the key.
#pragma once
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vidrec {

enum class Param {
  Factors,
  Iterations,
  Regularization,
  Alpha,
  Confidence,
  Epsilon,
  UnobservedWeight,
  RegExponent,
  NegativeWeight,
  Weighting,
  Bm25K1,
  Bm25B,
  HalfLife,
};
constexpr size_t kParams = 13;

// The option name ("unobserved-weight").
const char* param_name(Param p);
// Category names of confidence ("linear", "log") and weighting ("none",
// "bm25", "tfidf"): a point holds their index.
const std::vector<std::string>& category_names(Param p);

struct ParamSpec {
  std::vector<double> choices;  // non-empty: pick one; a category holds indices
  double min = 0, max = 0;      // a range, when choices is empty
  bool log = false;
  double zero = 0;  // probability of 0 instead of the range
  bool fixed() const { return choices.size() == 1; }
};

// What the default space depends on.
struct DataFacts {
  uint32_t users = 0, videos = 0;
  uint64_t positives = 0;  // pairs with weight > 0
  bool negative_weights = false;
  int64_t time_span = 0;  // newest minus oldest last timestamp, seconds
};

using Point = std::array<double, kParams>;  // a value per parameter, by Param

struct SearchSpace {
  std::array<ParamSpec, kParams> spec;
  ParamSpec& operator[](Param p) { return spec[size_t(p)]; }
  const ParamSpec& operator[](Param p) const { return spec[size_t(p)]; }
  // The value of each parameter at unit coordinates u (iterations: its first rung).
  Point decode(const Point& u) const;
  // The rungs' iteration counts, ascending.
  std::vector<uint32_t> rungs() const;
};

SearchSpace default_space(const DataFacts& facts);
// Applies a --space document to `space`; `source` (the file) names errors.
void apply_space(SearchSpace& space, const nlohmann::json& doc, const std::string& source);
// Reads a --space file: IoError when unreadable, ConfigError for bad JSON
// (with its position); apply_space checks the rest.
nlohmann::json read_space_file(const std::string& path);

// s of the contract: the n_r + alpha0 n of a typical row.
double typical_row(const DataFacts& facts, double unobserved_weight);

}  // namespace vidrec
