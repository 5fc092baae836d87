// SPDX-License-Identifier: MIT
#include "vidrec/tune/settings.hpp"

#include <algorithm>
#include <cmath>

#include "vidrec/base/decimal.hpp"
#include "vidrec/base/errors.hpp"

namespace vidrec {

namespace {

size_t at(Param p) { return size_t(p); }

}  // namespace

TrainSettings settings_of(const Point& v, const DataFacts& facts, uint32_t iterations, uint64_t seed) {
  TrainSettings s;
  AlsConfig& a = s.als;
  a.factors = uint32_t(v[at(Param::Factors)]);
  a.iterations = iterations;
  a.unobserved_weight = float(v[at(Param::UnobservedWeight)]);
  a.reg_exponent = float(v[at(Param::RegExponent)]);
  a.regularization = float(v[at(Param::Regularization)] /
                           std::pow(typical_row(facts, a.unobserved_weight), double(a.reg_exponent)));
  a.alpha = float(v[at(Param::Alpha)]);
  if (v[at(Param::Confidence)] == 1) {
    a.confidence = AlsConfig::Confidence::Log;
    a.epsilon = float(v[at(Param::Epsilon)]);
  }
  a.negative_weight = float(v[at(Param::NegativeWeight)]);
  a.seed = seed;
  Weighting& w = s.weighting;
  const double scheme = v[at(Param::Weighting)];
  w.scheme = scheme == 1   ? Weighting::Scheme::Bm25
             : scheme == 2 ? Weighting::Scheme::TfIdf
                           : Weighting::Scheme::None;
  if (w.scheme == Weighting::Scheme::Bm25) {
    w.k1 = float(v[at(Param::Bm25K1)]);
    w.b = float(v[at(Param::Bm25B)]);
  }
  w.half_life = v[at(Param::HalfLife)];
  return s;
}

nlohmann::ordered_json parameters_json(const TrainSettings& s) {
  const AlsConfig& a = s.als;
  const Weighting& w = s.weighting;
  nlohmann::ordered_json j;
  j["factors"] = a.factors;
  j["iterations"] = a.iterations;
  j["regularization"] = shortest_decimal(a.regularization);
  j["alpha"] = shortest_decimal(a.alpha);
  const bool log = a.confidence == AlsConfig::Confidence::Log;
  j["confidence"] = log ? "log" : "linear";
  if (log) j["epsilon"] = shortest_decimal(a.epsilon);
  j["unobserved-weight"] = shortest_decimal(a.unobserved_weight);
  j["reg-exponent"] = shortest_decimal(a.reg_exponent);
  if (a.negative_weight != 0) j["negative-weight"] = shortest_decimal(a.negative_weight);
  j["weighting"] = category_names(Param::Weighting)[size_t(w.scheme)];
  if (w.scheme == Weighting::Scheme::Bm25) {
    j["bm25-k1"] = shortest_decimal(w.k1);
    j["bm25-b"] = shortest_decimal(w.b);
  }
  if (w.half_life > 0) j["half-life"] = std::to_string(int64_t(w.half_life)) + "s";
  return j;
}

std::string config_text(const TrainSettings& s, const std::string& comment) {
  std::string text;
  size_t begin = 0;
  while (begin < comment.size()) {
    const size_t end = std::min(comment.find('\n', begin), comment.size());
    text += "# " + comment.substr(begin, end - begin) + "\n";
    begin = end + 1;
  }
  text += "[train]\n";
  const nlohmann::ordered_json parameters = parameters_json(s);
  for (const auto& [key, value] : parameters.items()) text += key + " = " + value.dump() + "\n";
  text += "seed = " + std::to_string(s.als.seed) + "\n";
  return text;
}

std::string Metric::name() const {
  static const char* names[] = {"ndcg", "precision", "recall", "map", "auc"};
  return kind == Kind::Auc ? "auc" : std::string(names[int(kind)]) + "@" + std::to_string(k);
}

double Metric::of(const RankingMetrics& m) const {
  switch (kind) {
    case Kind::Ndcg:
      return m.ndcg;
    case Kind::Precision:
      return m.precision;
    case Kind::Recall:
      return m.recall;
    case Kind::Map:
      return m.map;
    case Kind::Auc:
      return m.auc;
  }
  return 0;
}

Metric parse_metric(const std::string& text) {
  const std::string rule =
      "metric must be ndcg@K, precision@K, recall@K, map@K (K from 1 to 100000) or auc, got \"" + text + "\"";
  Metric m;
  if (text == "auc") {
    m.kind = Metric::Kind::Auc;
    return m;
  }
  const size_t at_sign = text.find('@');
  if (at_sign == std::string::npos) throw ConfigError(rule);
  const std::string name = text.substr(0, at_sign), k = text.substr(at_sign + 1);
  if (name == "ndcg")
    m.kind = Metric::Kind::Ndcg;
  else if (name == "precision")
    m.kind = Metric::Kind::Precision;
  else if (name == "recall")
    m.kind = Metric::Kind::Recall;
  else if (name == "map")
    m.kind = Metric::Kind::Map;
  else
    throw ConfigError(rule);
  const auto r = std::from_chars(k.data(), k.data() + k.size(), m.k);
  if (k.empty() || r.ec != std::errc() || r.ptr != k.data() + k.size() || m.k < 1 || m.k > 100000)
    throw ConfigError(rule);
  return m;
}

}  // namespace vidrec
