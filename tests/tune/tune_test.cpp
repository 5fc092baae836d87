// SPDX-License-Identifier: MIT
// run_tune end to end on a small synthetic dataset: determinism across
// thread counts, what it reads (checked by the kernel, inotify), the budget's
// prefix, successive halving on real trials, and the final model.
#include "vidrec/tune/tune.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/model/model.hpp"
#include "vidrec/tune/random.hpp"

using namespace vidrec;

namespace {

// 80 users in 4 taste groups over 40 videos, 16 pairs each (mostly their
// group's), one pair a minute so the time split is well defined.
DatasetData synthetic() {
  SplitMix64 rng(5);
  DatasetData d;
  for (int u = 0; u < 80; ++u) d.user_ids.push_back("user" + std::to_string(100 + u));
  for (int v = 0; v < 40; ++v) d.video_ids.push_back("vid" + std::to_string(100 + v));
  d.indptr.push_back(0);
  for (uint32_t u = 0; u < 80; ++u) {
    std::set<uint32_t> row;
    while (row.size() < 16)
      row.insert(rng.uniform() < 0.85 ? (u % 4) * 10 + uint32_t(rng.below(10)) : uint32_t(rng.below(40)));
    int64_t t = 1700000000 + int64_t(u) * 7;
    for (uint32_t v : row) {
      d.indices.push_back(v);
      d.weights.push_back(float(1 + rng.below(3)));
      d.events.push_back(1);
      d.first_ts.push_back(t + int64_t(rng.below(1000)) * 60);
      d.last_ts.push_back(d.first_ts.back());
    }
    d.indptr.push_back(d.indices.size());
  }
  return d;
}

struct Fixture {
  test::TempDir data, out, tmp;
  std::string dataset = data.file("all.vrd");
  Fixture() {
    write_dataset(synthetic(), dataset);
    test::write_text(out.file("space.json"),
                     R"({"factors": {"choices": [4, 8]}, "iterations": {"min": 2, "max": 8}})");
  }
  // 6 trials over rungs 2, 4, 8: brackets of 4 and (cut) 2 configurations.
  TuneConfig config(const std::string& name, unsigned threads,
                    std::vector<nlohmann::ordered_json>* lines) const {
    TuneConfig c;
    c.dataset = dataset;
    c.output = out.file(name + ".vrm");
    c.space_file = out.file("space.json");
    c.tmp_dir = tmp.path().string();
    c.trials = 6;
    c.threads = threads;
    c.progress = false;
    c.on_evaluation = [lines](const nlohmann::ordered_json& line) {
      nlohmann::ordered_json l = line;
      l.erase("seconds");  // the one field that may differ between runs
      lines->push_back(l);
    };
    return c;
  }
};

}  // namespace

TEST_CASE("tune is deterministic: same seed, any thread count, same trials and model", "[tune]") {
  Fixture f;
  std::vector<nlohmann::ordered_json> one, two, other;
  const TuneReport a = run_tune(f.config("a", 1, &one));
  const TuneReport b = run_tune(f.config("b", 2, &two));
  REQUIRE(one.size() == 25);  // 4 + 2 + 1 evaluations, then 2 + 1, then 5 trials x 3 seeds
  CHECK(one == two);
  CHECK(a.parameters == b.parameters);
  CHECK(a.value == b.value);
  CHECK(test::read_text(f.out.file("a.vrm.toml")) == test::read_text(f.out.file("b.vrm.toml")));
  CHECK(Model::open(f.out.file("a.vrm")).factors_checksum() ==
        Model::open(f.out.file("b.vrm")).factors_checksum());

  TuneConfig c = f.config("c", 1, &other);
  c.seed = 43;
  run_tune(c);
  CHECK(other != one);

  // Successive halving on the real trials: trials 0-3 at rung 0, then the
  // better two of them at rung 1 (ties to the lower trial), then the better one.
  for (size_t i = 0; i < 4; ++i) CHECK(one[i]["rung"] == 0);
  std::vector<std::pair<double, uint32_t>> rung0;
  for (size_t i = 0; i < 4; ++i)
    rung0.push_back({-one[i]["value"].get<double>(), one[i]["trial"].get<uint32_t>()});
  std::sort(rung0.begin(), rung0.end());
  CHECK(one[4]["trial"] == rung0[0].second);
  CHECK(one[5]["trial"] == rung0[1].second);
  CHECK(one[4]["rung"] == 1);
  CHECK(one[4]["iterations"] == 4);
  CHECK(one[6]["rung"] == 2);
  CHECK(one[6]["iterations"] == 8);
  CHECK(one[6]["trial"] ==
        (one[4]["value"].get<double>() >= one[5]["value"].get<double>() ? one[4]["trial"] : one[5]["trial"]));
  // A trial's parameters stay the same from rung to rung, iterations aside.
  nlohmann::ordered_json p4 = one[4]["parameters"], p0;
  for (size_t i = 0; i < 4; ++i)
    if (one[i]["trial"] == one[4]["trial"]) p0 = one[i]["parameters"];
  p4.erase("iterations");
  p0.erase("iterations");
  CHECK(p4 == p0);
}

TEST_CASE("tune reads the dataset and no other file beside it, and leaves no temporary", "[tune]") {
  Fixture f;
  // The user's own test split lies beside the dataset; tune must never open it.
  write_dataset(synthetic(), f.data.file("test.vrd"));
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::inotify_add_watch(fd, f.data.path().c_str(), IN_OPEN | IN_ACCESS | IN_CREATE) >= 0);
  std::vector<nlohmann::ordered_json> lines;
  run_tune(f.config("m", 2, &lines));
  std::set<std::string> touched;
  alignas(inotify_event) char buf[1 << 16];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    for (char* p = buf; p < buf + n; p += sizeof(inotify_event) + reinterpret_cast<inotify_event*>(p)->len)
      touched.insert(reinterpret_cast<inotify_event*>(p)->name);
  ::close(fd);
  CHECK(touched == std::set<std::string>{"all.vrd"});
  CHECK(f.tmp.count() == 0);  // its private directory is gone
  CHECK(!lines.empty());
}

TEST_CASE("a budget cuts the same sequence of evaluations short", "[tune]") {
  Fixture f;
  std::vector<nlohmann::ordered_json> full, cut;
  run_tune(f.config("full", 1, &full));
  TuneConfig c = f.config("cut", 1, &cut);
  c.budget_seconds = 1e-9;  // over before the second evaluation
  const TuneReport rep = run_tune(c);
  CHECK(rep.budget_reached);
  REQUIRE(cut.size() == 1);  // the first always runs
  CHECK(cut[0] == full[0]);
  CHECK(rep.evaluations == 1);
}

TEST_CASE("the final model: trained on all the data with the chosen settings", "[tune]") {
  Fixture f;
  std::vector<nlohmann::ordered_json> lines;
  const TuneReport rep = run_tune(f.config("m", 1, &lines));
  // The chosen trial has the best mean over its 4 seeds of the 5 checked:
  // the search's value (seed 42) plus seeds 43, 44, 45, summed in that order.
  std::map<uint32_t, uint32_t> iterations;  // checked trial -> its iterations
  for (const auto& l : lines)
    if (l["seed"] != 42) iterations[l["trial"].get<uint32_t>()] = l["iterations"].get<uint32_t>();
  REQUIRE(iterations.size() == 5);
  CHECK(lines.size() == 10 + 15);
  std::map<uint32_t, double> sum;
  for (const auto& l : lines) {
    const uint32_t trial = l["trial"].get<uint32_t>();
    if (iterations.count(trial) && l["iterations"] == iterations[trial])
      sum[trial] += l["value"].get<double>();
  }
  for (const auto& [trial, s] : sum) {
    INFO("trial " << trial);
    CHECK((s / 4 < rep.value || (s / 4 == rep.value && trial >= rep.best_trial)));
  }
  CHECK(rep.value == sum.at(rep.best_trial) / 4);
  CHECK(rep.seeds == 4);
  CHECK(rep.trials == 6);
  CHECK(rep.evaluations == lines.size());
  const Model m = Model::open(f.out.file("m.vrm"));
  const Dataset ds = Dataset::open(f.dataset);
  CHECK(m.seen_total() == ds.nnz());
  const nlohmann::json h = m.meta()["hyperparameters"];
  for (const char* key : {"factors", "iterations", "regularization", "alpha"})
    CHECK(h[key].dump() == rep.parameters[key].dump());
  const std::string toml = test::read_text(f.out.file("m.vrm.toml"));
  CHECK_THAT(toml, Catch::Contains("[train]\nfactors = " + rep.parameters["factors"].dump() + "\n"));
  CHECK_THAT(toml, Catch::Contains("\nseed = 42\n"));
}

TEST_CASE("tune's options are checked before anything is read", "[tune]") {
  Fixture f;
  std::vector<nlohmann::ordered_json> lines;
  auto rule = [&](auto change, const std::string& message) {
    TuneConfig c = f.config("m", 1, &lines);
    change(c);
    CHECK_THROWS_WITH(run_tune(c), Catch::Contains(message));
  };
  rule([](TuneConfig& c) { c.trials = 0; }, "tune needs --trials N or --budget DURATION");
  rule([](TuneConfig& c) { c.output = "-"; }, "-o must name a file");
  rule([](TuneConfig& c) { c.validation_fraction = 1; }, "validation-fraction must be > 0 and < 1, got 1");
  rule([](TuneConfig& c) { c.metric = "mrr@10"; }, "metric must be");
  rule([](TuneConfig& c) { c.budget_seconds = -1; }, "budget must be a duration >= 0");
  rule([&](TuneConfig& c) { c.config_out = f.dataset; }, "names the input");
  test::write_text(f.out.file("bad.json"), R"({"factors": 8, "colour": "blue"})");
  rule([&](TuneConfig& c) { c.space_file = f.out.file("bad.json"); }, "bad.json: unknown key \"colour\"");
  CHECK(f.out.count() == 2);  // space.json and bad.json: nothing written
  CHECK(lines.empty());

  // Too few pairs per user to hold any out: a data error naming the rule.
  TuneConfig c = f.config("m", 1, &lines);
  c.validation_fraction = 0.01;
  CHECK_THROWS_AS(run_tune(c), InputError);
  CHECK_THROWS_WITH(run_tune(c), Catch::Contains("a user needs at least 100 distinct videos"));
}
