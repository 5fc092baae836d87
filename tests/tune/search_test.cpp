// SPDX-License-Identifier: MIT
// tune's pieces apart from ALS: the random numbers, the search space and its
// file, Hyperband's brackets and successive halving on a made-up objective,
// the settings and config file of a point, the metric names.
#include "vidrec/tune/search.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <map>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/tune/random.hpp"
#include "vidrec/tune/settings.hpp"
#include "vidrec/tune/space.hpp"

using namespace vidrec;

namespace {

Point all(double u) {
  Point p;
  p.fill(u);
  return p;
}

double at(const Point& p, Param q) { return p[size_t(q)]; }

SearchSpace with(const std::string& json, const DataFacts& facts = {}) {
  SearchSpace s = default_space(facts);
  apply_space(s, nlohmann::json::parse(json), "space.json");
  return s;
}

std::string config_error(const std::string& json) {
  try {
    with(json);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("SplitMix64 gives the reference generator's numbers", "[tune]") {
  SplitMix64 r(0);  // splitmix64.c (Vigna) from state 0
  CHECK(r.next() == 0xe220a8397b1dcdafull);
  CHECK(r.next() == 0x6e789e6aa1b965f4ull);
  CHECK(r.next() == 0x06c45d188009454full);
  SplitMix64 u(7);
  for (int i = 0; i < 1000; ++i) {
    const double x = u.uniform();
    REQUIRE((x >= 0 && x < 1));
  }
}

TEST_CASE("default space: a point at the middle of every range", "[tune]") {
  const Point v = default_space({}).decode(all(0.5));
  CHECK(at(v, Param::Factors) == 64);                                    // index 2 of 5
  CHECK(at(v, Param::Regularization) == Approx(1).epsilon(1e-12));       // 10^((-2 + 2) / 2)
  CHECK(at(v, Param::Alpha) == Approx(std::sqrt(10.0)).epsilon(1e-12));  // 10^((-1 + 2) / 2)
  CHECK(at(v, Param::Confidence) == 1);                                  // log
  CHECK(at(v, Param::Epsilon) == Approx(std::sqrt(0.1)).epsilon(1e-12));
  CHECK(at(v, Param::UnobservedWeight) == Approx(std::pow(10, -1.5)).epsilon(1e-12));
  CHECK(at(v, Param::RegExponent) == 0.5);
  CHECK(at(v, Param::Weighting) == 1);  // bm25
  CHECK(at(v, Param::Bm25K1) == Approx(std::pow(10, 1.5)).epsilon(1e-12));
  CHECK(at(v, Param::Bm25B) == 0.5);
  CHECK(at(v, Param::HalfLife) == 0);        // no timestamps span: no decay
  CHECK(at(v, Param::NegativeWeight) == 0);  // no negative weights
  CHECK(at(v, Param::Iterations) == 4);
  CHECK(default_space({}).rungs() == std::vector<uint32_t>{4, 8, 16, 32});
  // The ends of a range are reached.
  CHECK(at(default_space({}).decode(all(0)), Param::Regularization) == Approx(1e-2));
  CHECK(at(default_space({}).decode(all(0.999999999)), Param::Factors) == 256);
}

TEST_CASE("default space follows the data: time decay and negative weights", "[tune]") {
  DataFacts facts;
  facts.time_span = 1000;
  facts.negative_weights = true;
  const SearchSpace s = default_space(facts);
  // half-life: 0 below u = 1/2, else log-uniform over [1000 / 100, 2 * 1000].
  CHECK(at(s.decode(all(0.25)), Param::HalfLife) == 0);
  CHECK(at(s.decode(all(0.75)), Param::HalfLife) == 141);  // round(sqrt(10 * 2000))
  // negative-weight: 0 below u = 1/4, else log-uniform over [0.01, 1].
  CHECK(at(s.decode(all(0.2)), Param::NegativeWeight) == 0);
  CHECK(at(s.decode(all(0.625)), Param::NegativeWeight) == Approx(0.1).epsilon(1e-12));
}

TEST_CASE("space file: fixed values, choices, ranges and rungs", "[tune]") {
  const SearchSpace s =
      with(R"({"factors": 48, "confidence": "linear", "weighting": {"choices": ["none", "tfidf"]},
      "alpha": {"min": 2, "max": 8}, "bm25-b": {"min": 0.2, "max": 0.4, "log": true},
      "reg-exponent": {"min": 0, "max": 1, "zero": 0.5}, "half-life": "2h", "iterations": {"min": 5, "max": 30}})");
  const Point v = s.decode(all(0.5));
  CHECK(at(v, Param::Factors) == 48);
  CHECK(at(v, Param::Confidence) == 0);
  CHECK(at(v, Param::Weighting) == 2);                     // index 1 of [none, tfidf]: tfidf
  CHECK(at(v, Param::Alpha) == Approx(4).epsilon(1e-12));  // log by default: sqrt(2 * 8)
  CHECK(at(v, Param::Bm25B) == Approx(std::sqrt(0.08)).epsilon(1e-12));
  CHECK(at(s.decode(all(0.75)), Param::RegExponent) == 0.5);  // past zero = 0.5: halfway up [0, 1]
  CHECK(at(s.decode(all(0.4)), Param::RegExponent) == 0);
  CHECK(at(v, Param::HalfLife) == 7200);
  CHECK(s.rungs() == std::vector<uint32_t>{5, 10, 20, 30});
  CHECK(with(R"({"iterations": {"choices": [15, 5, 5]}})").rungs() == std::vector<uint32_t>{5, 15});
  CHECK(with(R"({"iterations": 12})").rungs() == std::vector<uint32_t>{12});
  // Fixing one parameter leaves the others' draws alone.
  CHECK(with(R"({"factors": 8})").decode(all(0.3))[size_t(Param::Alpha)] ==
        default_space({}).decode(all(0.3))[size_t(Param::Alpha)]);
}

TEST_CASE("space file errors name the file, the key and the rule", "[tune]") {
  CHECK_THAT(config_error(R"({"factor": 8})"),
             Catch::Contains("space.json: unknown key \"factor\"") && Catch::Contains("unobserved-weight"));
  CHECK_THAT(config_error(R"({"alpha": {"min": 1, "max": 2, "step": 1}})"),
             Catch::Contains("space.json: alpha: unknown key \"step\""));
  CHECK_THAT(config_error(R"({"alpha": {"min": 3, "max": 2}})"),
             Catch::Contains("alpha: min 3 is above max 2"));
  CHECK_THAT(config_error(R"({"regularization": {"min": 0, "max": 2}})"),
             Catch::Contains("regularization: a log range needs min > 0"));
  CHECK_THAT(config_error(R"({"alpha": {"min": 1}})"), Catch::Contains("alpha: a range needs both"));
  CHECK_THAT(config_error(R"({"factors": 0})"),
             Catch::Contains("factors: must be an integer between 1 and 4096, got 0"));
  CHECK_THAT(config_error(R"({"factors": 2.5})"), Catch::Contains("factors: must be an integer"));
  CHECK_THAT(config_error(R"({"unobserved-weight": 0})"), Catch::Contains("unobserved-weight: must be > 0"));
  CHECK_THAT(config_error(R"({"reg-exponent": 3})"),
             Catch::Contains("reg-exponent: must be between 0 and 2"));
  CHECK_THAT(config_error(R"({"confidence": "cubic"})"),
             Catch::Contains("confidence: must be linear or log"));
  CHECK_THAT(config_error(R"({"weighting": {"min": 0, "max": 1}})"),
             Catch::Contains("weighting: takes a value"));
  CHECK_THAT(config_error(R"({"alpha": {"choices": []}})"),
             Catch::Contains("alpha: \"choices\" must be a non-empty"));
  CHECK_THAT(config_error(R"({"alpha": "big"})"),
             Catch::Contains("alpha: must be finite and >= 0, got \"big\""));
  CHECK_THAT(config_error(R"({"factors": {"min": 8, "max": 16, "zero": 0.5}})"),
             Catch::Contains("factors: 0 is not a value it can take"));
  CHECK_THAT(config_error(R"([1, 2])"), Catch::Contains("must be a JSON object"));

  test::TempDir dir;
  test::write_text(dir.file("bad.json"), "{\"factors\": 8,}");
  CHECK_THROWS_WITH(read_space_file(dir.file("bad.json")), Catch::Contains("bad.json: not valid JSON"));
  CHECK_THROWS_AS(read_space_file(dir.file("missing.json")), IoError);
}

TEST_CASE("Hyperband brackets and what a rung keeps", "[tune]") {
  // ceil(4 / (s + 1) * 2^s) for s = 3, 2, 1, 0 halvings: 8, 6, 4, 4.
  const std::vector<Bracket> b = hyperband_round(4);
  REQUIRE(b.size() == 4);
  CHECK(b[0].first_rung == 0);
  CHECK(b[0].configs == 8);
  CHECK(b[1].configs == 6);
  CHECK(b[2].configs == 4);
  CHECK(b[3].configs == 4);
  CHECK(b[3].first_rung == 3);
  CHECK(hyperband_round(1).size() == 1);
  CHECK(hyperband_round(1)[0].configs == 1);

  const double nan = std::nan("");
  // floor(5 / 2) = 2 kept: the two 0.5s, ties to the lower trial first.
  CHECK(promote({{0, 0, 0.3}, {1, 0, 0.5}, {2, 0, nan}, {3, 0, 0.5}, {4, 0, 0.1}}) ==
        std::vector<uint32_t>{1, 3});
  CHECK(promote({{7, 1, 0.2}}) == std::vector<uint32_t>{7});
  CHECK(promote({{1, 0, nan}, {2, 0, 0.1}, {3, 0, nan}, {4, 0, nan}}) == std::vector<uint32_t>{2});
  CHECK(promote({{1, 0, nan}, {2, 0, nan}}).empty());
  // Each trial's best, best first: ties to the lower trial, a trial's to its lower rung.
  const std::vector<Evaluation> ranked =
      ranked_trials({{3, 0, 0.4}, {2, 1, 0.4}, {2, 0, 0.4}, {5, 2, nan}, {3, 1, 0.2}});
  REQUIRE(ranked.size() == 2);
  CHECK(ranked[0].trial == 2);
  CHECK(ranked[0].rung == 0);
  CHECK(ranked[1].trial == 3);
  CHECK(ranked_trials({{1, 0, nan}}).empty());
}

TEST_CASE("successive halving keeps the better half and continues it from its rung", "[tune]") {
  // A made-up objective: trial t scores score[t] at rung 0 plus 0.01 per rung.
  const std::vector<double> score = {0.5, 0.9, 0.1, 0.7, 0.3, 0.8, 0.2, 0.6, 0.4, 0.0};
  std::vector<uint32_t> proposed;
  std::vector<Job> ran;
  auto propose = [&](uint32_t trial, const std::vector<Evaluation>&) { proposed.push_back(trial); };
  auto run = [&](const std::vector<Job>& jobs) {
    std::vector<std::optional<double>> out;
    for (const Job& j : jobs) {
      ran.push_back(j);
      out.push_back(score[j.trial] + 0.01 * j.rung);
    }
    return out;
  };
  // 3 rungs: brackets of 4, 3 and 3 configurations, 10 in all.
  const std::vector<Evaluation> history = run_search(3, 10, propose, run);
  CHECK(proposed == std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  // Bracket 1: trials 0-3 at rung 0; keep 1 (0.9) and 3 (0.7); then 1 alone.
  // Bracket 2: trials 4-6 at rung 1; keep 5 (0.8). Bracket 3: 7-9 at rung 2.
  const std::vector<std::tuple<uint32_t, int, uint32_t>> want = {
      {0, -1, 0}, {1, -1, 0}, {2, -1, 0}, {3, -1, 0}, {1, 0, 1},  {3, 0, 1},  {1, 1, 2},
      {4, -1, 1}, {5, -1, 1}, {6, -1, 1}, {5, 1, 2},  {7, -1, 2}, {8, -1, 2}, {9, -1, 2}};
  REQUIRE(ran.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("job " << i);
    CHECK(ran[i].trial == std::get<0>(want[i]));
    CHECK(ran[i].from_rung == std::get<1>(want[i]));
    CHECK(ran[i].rung == std::get<2>(want[i]));
  }
  REQUIRE(history.size() == want.size());
  CHECK(history[6].trial == 1);
  CHECK(history[6].value == Approx(0.92));

  // Cut to 5 trials: the second bracket starts 1 configuration.
  proposed.clear();
  ran.clear();
  run_search(3, 5, propose, run);
  CHECK(proposed.size() == 5);
  CHECK(ran.back().trial == 4);
  CHECK(ran.back().rung == 2);  // alone, it goes all the way up

  // Out of budget after 5 evaluations: those are kept, nothing more runs.
  size_t answered = 0;
  auto budget = [&](const std::vector<Job>& jobs) {
    std::vector<std::optional<double>> out(jobs.size());
    for (size_t i = 0; i < jobs.size() && answered < 5; ++i, ++answered) out[i] = score[jobs[i].trial];
    return out;
  };
  CHECK(run_search(3, 0, propose, budget).size() == 5);
}

TEST_CASE("proposals: uniform in the first round, then local moves around the best", "[tune]") {
  const uint32_t round = 4;
  Proposer a(11, round), b(11, round);
  std::vector<Evaluation> history;
  for (uint32_t t = 0; t < 12; ++t) {
    const Point pa = a.propose(t, history), pb = b.propose(t, history);
    CHECK(pa == pb);  // the same seed and history, the same points
    for (double x : pa) REQUIRE((x >= 0 && x < 1));
    history.push_back({t, 0, double((t * 7) % 5)});
    if (t < round || t % 2 == 0) continue;
    // A local move lies within 0.15 of one of the 5 best trials before it.
    bool near = false;
    for (uint32_t parent = 0; parent < t; ++parent) {
      bool close = true;
      for (size_t i = 0; i < kParams; ++i) close &= std::abs(pa[i] - a.unit(parent)[i]) <= 0.15 + 1e-12;
      near |= close;
    }
    CHECK(near);
  }
  Proposer c(12, round);
  CHECK(c.propose(0, {}) != a.unit(0));
}

TEST_CASE("settings of a point: regularization per typical row, inert options at train's defaults",
          "[tune]") {
  DataFacts facts;
  facts.users = 10;
  facts.videos = 20;
  facts.positives = 50;
  Point v = default_space({}).decode(all(0.5));
  v[size_t(Param::UnobservedWeight)] = 0.5;
  v[size_t(Param::RegExponent)] = 1;
  v[size_t(Param::Regularization)] = 1;
  // s = sqrt((50/10 + 0.5 * 20) * (50/20 + 0.5 * 10)) = sqrt(112.5)
  CHECK(typical_row(facts, 0.5) == Approx(std::sqrt(112.5)).epsilon(1e-12));
  TrainSettings s = settings_of(v, facts, 16, 7);
  CHECK(s.als.regularization == float(1 / std::sqrt(112.5)));
  CHECK(double(s.als.regularization) * std::sqrt(112.5) ==
        Approx(1).epsilon(1e-6));  // lambda of a typical row
  CHECK(s.als.iterations == 16);
  CHECK(s.als.seed == 7);
  v[size_t(Param::RegExponent)] = 0;
  CHECK(settings_of(v, facts, 16, 7).als.regularization == 1.0f);

  v[size_t(Param::Confidence)] = 0;  // linear: epsilon stays train's
  v[size_t(Param::Weighting)] = 2;   // tfidf: k1 and b stay train's
  s = settings_of(v, facts, 16, 7);
  CHECK(s.als.epsilon == AlsConfig{}.epsilon);
  CHECK(s.weighting.scheme == Weighting::Scheme::TfIdf);
  CHECK(s.weighting.k1 == Weighting{}.k1);
  CHECK(s.weighting.b == Weighting{}.b);
}

TEST_CASE("config file: train's option names and shortest decimals", "[tune]") {
  TrainSettings s;
  s.als.factors = 64;
  s.als.iterations = 16;
  s.als.regularization = 0.05f;
  s.als.alpha = 4.5f;
  s.als.confidence = AlsConfig::Confidence::Log;
  s.als.epsilon = 0.1f;
  s.als.unobserved_weight = 0.003f;
  s.als.reg_exponent = 1;
  s.als.seed = 9;
  s.weighting.scheme = Weighting::Scheme::Bm25;
  s.weighting.k1 = 120;
  s.weighting.b = 0.75f;
  s.weighting.half_life = 86400;
  CHECK(config_text(s, "line one\nline two") ==
        "# line one\n# line two\n[train]\nfactors = 64\niterations = 16\nregularization = 0.05\nalpha = 4.5\n"
        "confidence = \"log\"\nepsilon = 0.1\nunobserved-weight = 0.003\nreg-exponent = 1.0\n"
        "weighting = \"bm25\"\nbm25-k1 = 120.0\nbm25-b = 0.75\nhalf-life = \"86400s\"\nseed = 9\n");
  s.als.confidence = AlsConfig::Confidence::Linear;
  s.als.negative_weight = 0.25f;
  s.weighting = Weighting{};
  CHECK(
      config_text(s, "") ==
      "[train]\nfactors = 64\niterations = 16\nregularization = 0.05\nalpha = 4.5\nconfidence = \"linear\"\n"
      "unobserved-weight = 0.003\nreg-exponent = 1.0\nnegative-weight = 0.25\nweighting = \"none\"\nseed = "
      "9\n");
}

TEST_CASE("metric names", "[tune]") {
  CHECK(parse_metric("ndcg@10").name() == "ndcg@10");
  CHECK(parse_metric("precision@5").kind == Metric::Kind::Precision);
  CHECK(parse_metric("recall@20").k == 20);
  CHECK(parse_metric("map@3").name() == "map@3");
  CHECK(parse_metric("auc").kind == Metric::Kind::Auc);
  RankingMetrics m;
  m.ndcg = 0.25;
  m.auc = 0.75;
  CHECK(parse_metric("ndcg@10").of(m) == 0.25);
  CHECK(parse_metric("auc").of(m) == 0.75);
  for (const char* bad : {"ndcg", "ndcg@0", "ndcg@x", "ndcg@10x", "mrr@10", "auc@10", ""})
    CHECK_THROWS_WITH(parse_metric(bad), Catch::Contains("metric must be"));
}

TEST_CASE("the final check: the best mean over seeds, not the luckiest value", "[tune]") {
  const double nan = std::nan("");
  // Trial 4 is at rung 1 best, trial 1 at rung 0; 6 trials, 3 candidates.
  const std::vector<Evaluation> history = {{0, 0, 0.50}, {1, 0, 0.90}, {2, 0, 0.10}, {3, 0, 0.70},
                                           {4, 0, 0.60}, {5, 0, 0.20}, {4, 1, 0.80}, {1, 1, 0.85}};
  // Replica r of trial t scores again[t][r - 1].
  std::map<uint32_t, std::vector<double>> again = {{1, {0.60, 0.60}}, {4, {0.80, 0.79}}, {3, {0.70, nan}}};
  std::vector<Job> ran;
  auto run = [&](const std::vector<Job>& jobs) {
    std::vector<std::optional<double>> out;
    for (const Job& j : jobs) {
      ran.push_back(j);
      out.push_back(again.at(j.trial)[j.replica - 1]);
    }
    return out;
  };
  const std::optional<Choice> c = final_check(history, 3, 2, run);
  REQUIRE(c);
  // Means: trial 1 (0.9 + 0.6 + 0.6) / 3 = 0.7, trial 4 (0.8 + 0.8 + 0.79) / 3 = 0.7967,
  // trial 3 failed once: out.
  CHECK(c->trial == 4);
  CHECK(c->rung == 1);
  CHECK(c->mean == Approx(2.39 / 3));
  CHECK(c->replicas == 2);
  REQUIRE(ran.size() == 6);  // candidates in rank order, one round per replica, from the start
  const std::vector<std::pair<uint32_t, uint32_t>> want = {{1, 0}, {4, 1}, {3, 0}, {1, 0}, {4, 1}, {3, 0}};
  for (size_t i = 0; i < ran.size(); ++i) {
    CHECK(ran[i].trial == want[i].first);
    CHECK(ran[i].rung == want[i].second);
    CHECK(ran[i].from_rung == -1);
    CHECK(ran[i].replica == (i < 3 ? 1u : 2u));
  }
  CHECK(c->checks.size() == 6);

  // A round cut short does not count: with one round, trial 1 (0.75) loses
  // to trial 4 (0.8) all the same; with none, the search's best stands.
  size_t answers = 4;
  auto budget = [&](const std::vector<Job>& jobs) {
    std::vector<std::optional<double>> out(jobs.size());
    for (size_t i = 0; i < jobs.size() && answers > 0; ++i, --answers)
      out[i] = again.at(jobs[i].trial)[jobs[i].replica - 1];
    return out;
  };
  const std::optional<Choice> one = final_check(history, 3, 2, budget);
  REQUIRE(one);
  CHECK(one->replicas == 1);
  CHECK(one->trial == 4);
  CHECK(one->checks.size() == 4);
  answers = 0;
  const std::optional<Choice> none = final_check(history, 3, 2, budget);
  REQUIRE(none);
  CHECK(none->replicas == 0);
  CHECK(none->trial == 1);
  CHECK(none->mean == 0.9);
  CHECK(!final_check({{0, 0, nan}}, 3, 2, run));
}
