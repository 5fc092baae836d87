// SPDX-License-Identifier: MIT
// The option table: every setting reachable by name, texts that parse back,
// both spellings, SageMaker's hyperparameters field by field, and the
// "did you mean" guesses (hand-computed distances).
#include "vidrec/options/options.hpp"

#include <catch2/catch.hpp>
#include <set>

#include "vidrec/base/errors.hpp"
#include "vidrec/options/suggest.hpp"
#include "vidrec/serve/sagemaker.hpp"
#include "vidrec/tune/settings.hpp"

using namespace vidrec;

namespace {

using Values = std::vector<std::pair<std::string, std::string>>;

// A value other than the default for every option.
const Values kValues = {{"factors", "7"},
                        {"iterations", "3"},
                        {"regularization", "0.5"},
                        {"alpha", "40"},
                        {"confidence", "log"},
                        {"epsilon", "0.25"},
                        {"solver", "cholesky"},
                        {"cg-steps", "9"},
                        {"threads", "5"},
                        {"seed", "18446744073709551615"},
                        {"unobserved-weight", "0.125"},
                        {"reg-exponent", "1.5"},
                        {"negative-weight", "2"},
                        {"loss", "true"},
                        {"weighting", "tfidf"},
                        {"bm25-k1", "50"},
                        {"bm25-b", "0.5"},
                        {"half-life", "2h"},
                        {"now", "2025-01-01 00:00:00"},
                        {"min-user-events", "4"},
                        {"min-video-events", "6"},
                        {"max-reject-rate", "0.75"},
                        {"columns", "video,-,user,time,value"},
                        {"delimiter", "\\t"},
                        {"processes-per-host", "3"},
                        {"mpi-wait-seconds", "60"},
                        {"ann", "hnsw"},
                        {"ann-m", "8"},
                        {"ann-ef-construction", "100"}};

Settings with(const Values& values) {
  Settings s;
  for (const auto& [name, text] : values) {
    const Option* o = find_option(name, ~0u);
    REQUIRE(o);
    o->set(s, text, name);
  }
  return s;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("options: edit distance and the nearest name", "[options]") {
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("factor", "factors") == 1);
  CHECK(edit_distance("trian", "train") == 1);  // one swap
  CHECK(edit_distance("ca", "abc") == 3);       // optimal string alignment: no edit of a swapped pair
  CHECK(edit_distance("same", "same") == 0);
  const std::vector<std::string> commands = {"prepare", "train", "tune", "recommend", "similar", "serve"};
  CHECK(nearest("trian", commands) == "train");
  CHECK(nearest("TRAIN", commands) == "train");
  CHECK(nearest("tun", commands) == "tune");
  CHECK(nearest("serv", commands) == "serve");
  CHECK(nearest("xyz", commands).empty());  // 3 edits from the nearest: too far for a short word
  CHECK(nearest("", commands).empty());
  const std::vector<std::string> flags = {"factors", "cg-steps", "reg-exponent"};
  CHECK(nearest("factor", flags) == "factors");
  CHECK(nearest("cg_stesp", flags) == "cg-steps");  // `_` is `-`, then one swap
  CHECK(nearest("regexponent", flags) == "reg-exponent");
  CHECK(nearest("unobserved", flags).empty());
}

TEST_CASE("options: names are unique, canonical with '-', and found in either spelling", "[options]") {
  std::set<std::string> seen;
  for (const Option& o : options()) {
    INFO(o.name);
    CHECK(seen.insert(o.name).second);
    CHECK(o.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos);
    CHECK(o.scopes != 0);
    CHECK(!o.help.empty());
    std::string underscored = o.name;
    for (char& c : underscored)
      if (c == '-') c = '_';
    CHECK(find_option(underscored, o.scopes) == &o);
    CHECK(find_option(o.name, o.scopes) == &o);
  }
  CHECK(find_option("now", scope::SageMaker) == nullptr);  // train only
  CHECK(find_option("processes_per_host", scope::Train) == nullptr);
  CHECK(did_you_mean("factor", scope::Train) == "; did you mean 'factors'?");
  CHECK(did_you_mean("cg_step", scope::SageMaker) == "; did you mean 'cg_steps'?");
  CHECK(did_you_mean("min-user-event", scope::Prepare) == "; did you mean 'min-user-events'?");
  CHECK(did_you_mean("tuning_objective_metric", scope::SageMaker).empty());
}

TEST_CASE("options: every AlsConfig and Weighting field is reachable by name", "[options]") {
  const Settings s = with(kValues);
  const AlsConfig& a = s.als;
  CHECK(a.factors == 7);
  CHECK(a.iterations == 3);
  CHECK(a.regularization == 0.5f);
  CHECK(a.alpha == 40.0f);
  CHECK(a.confidence == AlsConfig::Confidence::Log);
  CHECK(a.epsilon == 0.25f);
  CHECK(a.solver == AlsConfig::Solver::Cholesky);
  CHECK(a.cg_steps == 9);
  CHECK(a.threads == 5);
  CHECK(a.seed == 18446744073709551615ull);
  CHECK(a.unobserved_weight == 0.125f);
  CHECK(a.reg_exponent == 1.5f);
  CHECK(a.negative_weight == 2.0f);
  CHECK(a.compute_loss);
  CHECK(s.weighting.scheme == Weighting::Scheme::TfIdf);
  CHECK(s.weighting.k1 == 50.0f);
  CHECK(s.weighting.b == 0.5f);
  CHECK(s.weighting.half_life == 7200.0);
  CHECK(s.weighting.now == int64_t(1735689600));
  CHECK(s.prepare.prune.min_user_events == 4);
  CHECK(s.prepare.prune.min_video_events == 6);
  CHECK(s.prepare.max_reject_rate == 0.75);
  CHECK(s.processes_per_host == 3);
  CHECK(s.mpi_wait_seconds == 60);
  CHECK(s.ann.method == AnnMethod::Hnsw);
  CHECK(s.ann.m == 8);
  CHECK(s.ann.ef_construction == 100);

  // Each option's text parses back to the same value, exact or shortest.
  for (const Option& o : options())
    for (bool exact : {true, false}) {
      INFO(o.name << " exact " << exact);
      Settings back;
      const std::string text = o.text(s, exact);
      o.set(back, text, o.name);
      CHECK(o.text(back, exact) == text);
    }
  CHECK(find_option("regularization", ~0u)->text(with({{"regularization", "0.01"}}), false) == "0.01");
  CHECK(find_option("regularization", ~0u)->text(Settings{}, true) == "0.00999999977648258209228515625");
  CHECK(find_option("max-reject-rate", ~0u)->text(Settings{}, false).empty());  // unset
}

TEST_CASE("options: values are checked and the option named as written", "[options]") {
  CHECK(error_of([] { with({{"factors", "many"}}); }) == "factors must be a number, got 'many'");
  CHECK(error_of([] { with({{"factors", "-1"}}); }) == "factors must be between 0 and 4294967295, got '-1'");
  CHECK(error_of([] {
          with({{"factors", "4294967296"}});
        }) == "factors must be between 0 and 4294967295, got '4294967296'");
  CHECK(error_of([] { with({{"factors", "8 "}}); }) == "factors must be a number, got '8 '");
  CHECK(error_of([] { with({{"alpha", ""}}); }) == "alpha must be a number, got ''");
  CHECK(error_of([] {
          with({{"weighting", "bm26"}});
        }) == "weighting must be none, bm25 or tfidf, got 'bm26'");
  CHECK(error_of([] { with({{"loss", "yes"}}); }) == "loss must be true or false, got 'yes'");
  CHECK(error_of([] { with({{"now", "yesterday"}}); }) == "now: not a timestamp: 'yesterday'");
  CHECK(error_of([] { with({{"half-life", "3x"}}); }).find("bad duration '3x'") == 0);
}

TEST_CASE("options: hyperparameters.json sets the same fields as train's flags", "[options][sagemaker]") {
  // Hyperparameters spelt with `_` (one with `-`: either is fine), some as
  // JSON numbers, beside SageMaker's own.
  nlohmann::json h = {{"sagemaker_program", "x"}, {"_tuning_objective_metric", "validation:auc"}};
  for (const auto& [name, text] : kValues) {
    if (name == "loss" || name == "now") continue;  // train only
    std::string key = name;
    for (char& c : key)
      if (c == '-' && name != "cg-steps") c = '_';
    h[key] = name == "iterations" ? nlohmann::json(3) : nlohmann::json(text);
  }
  const SageMakerHyperparameters hp = parse_hyperparameters(h);
  Values sagemaker_only;
  for (const auto& v : kValues)
    if (v.first != "loss" && v.first != "now") sagemaker_only.push_back(v);
  const Settings flags = with(sagemaker_only);
  for (const Option& o : options()) {
    INFO(o.name);
    CHECK(o.text(hp, true) == o.text(flags, true));
    if (o.name != "loss" && o.name != "now") CHECK(o.text(hp, true) != o.text(Settings{}, true));
  }
  CHECK(error_of([] {
          parse_hyperparameters(nlohmann::json{{"factor", "8"}}, "hp.json");
        }) == "unknown hyperparameter 'factor' in hp.json; did you mean 'factors'?");
  CHECK(error_of([] {
          parse_hyperparameters(nlohmann::json{{"cg-step", "8"}});
        }) == "unknown hyperparameter 'cg-step'; did you mean 'cg-steps'?");
  CHECK(error_of([] {
          parse_hyperparameters(nlohmann::json{{"now", "0"}});
        }) == "unknown hyperparameter 'now'");  // train only: no SageMaker option is near
  CHECK(error_of([] {
          parse_hyperparameters(nlohmann::json{{"factors", "many"}});
        }) == "hyperparameter factors must be a number, got 'many'");
}

TEST_CASE("options: tune's config file uses train's option names", "[options][tune]") {
  TrainSettings t;
  t.als.confidence = AlsConfig::Confidence::Log;
  t.als.negative_weight = 1;
  t.weighting.scheme = Weighting::Scheme::Bm25;
  t.weighting.half_life = 3600;
  const nlohmann::ordered_json parameters = parameters_json(t);
  for (const auto& [key, value] : parameters.items()) {
    INFO(key);
    const Option* o = find_option(key, scope::Train);
    REQUIRE(o);
    CHECK(o->name == key);
    Settings s;
    o->set(s, value.is_string() ? value.get<std::string>() : value.dump(), key);
  }
}
