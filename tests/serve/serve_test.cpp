// SPDX-License-Identifier: MIT
#include "vidrec/serve/serve.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/ingest/prepare.hpp"
#include "vidrec/recommend/recommend.hpp"
#include "vidrec/serve/api.hpp"
#include "vidrec/als/train.hpp"

using namespace vidrec;

namespace {

// 60 users in three taste groups of 20 videos each; every user watched 6 to
// 10 videos of their group (ids g<group>v<i>), so the group shapes the model.
struct Trained {
  test::TempDir dir;
  std::string model;
  Trained() {
    std::mt19937 rng(7);
    std::ostringstream csv;
    csv << "userId,videoId,interactionType,interactionValue,location,timestamp\n";
    for (int u = 0; u < 60; ++u) {
      const int g = u % 3;
      std::vector<int> vids(20);
      for (int i = 0; i < 20; ++i) vids[size_t(i)] = i;
      std::shuffle(vids.begin(), vids.end(), rng);
      const int n = 6 + int(rng() % 5);
      for (int i = 0; i < n; ++i)
        csv << "u" << u << ",g" << g << "v" << vids[size_t(i)] << ",watch," << 1 + int(rng() % 3)
            << ",US,2025-01-01 10:00:00\n";
    }
    test::write_text(dir.file("raw.csv"), csv.str());
    PrepareConfig p;
    p.inputs = {dir.file("raw.csv")};
    p.output = dir.file("d.vrd");
    p.progress = false;
    run_prepare(p);
    TrainConfig t;
    t.dataset = p.output;
    t.output = model = dir.file("m.vrm");
    t.als.factors = 8;
    t.als.iterations = 20;
    t.als.regularization = 0.1f;
    t.als.solver = AlsConfig::Solver::Cholesky;
    t.als.threads = 1;
    t.progress = false;
    run_train(t);
  }
};

const Trained& trained() {
  static const Trained t;
  return t;
}

struct Fixture {
  ModelSlot slot;
  Metrics metrics;
  Api api{slot, metrics};
  Fixture() { slot.set(ServingModel::load(trained().model)); }
  HttpReply post(std::string_view path, std::string_view body, std::string_view type = "application/json") {
    return api.handle({"POST", path, type, body});
  }
};

std::vector<std::string> videos_of(const std::string& reply) {
  const auto j = nlohmann::json::parse(reply);
  std::vector<std::string> out;
  for (const auto& r : j["recommendations"]) out.push_back(r["videoId"].get<std::string>());
  return out;
}

}  // namespace

TEST_CASE("serve: request validation names the field and the rule", "[serve]") {
  bool batch = false;
  const auto one = parse_invocations(R"({"user_id":"u1","k":3,"extra":[1,2]})", batch);
  CHECK_FALSE(batch);
  REQUIRE(one.size() == 1);
  CHECK(one[0].user_id == "u1");
  CHECK(one[0].k == 3);
  CHECK_FALSE(one[0].has_history);

  const auto many = parse_invocations(
      R"({"instances":[{"user_id":"a"},{"user_id":"b","include_seen":true,"exclude":["v1"],
          "history":[{"videoId":"v2","value":2.5},{"videoId":"v3"}]}]})",
      batch);
  CHECK(batch);
  REQUIRE(many.size() == 2);
  CHECK(many[0].k == 10);
  CHECK(many[1].include_seen);
  CHECK(many[1].exclude == std::vector<std::string>{"v1"});
  REQUIRE(many[1].history.size() == 2);
  CHECK(many[1].history[0].value == 2.5);
  CHECK(many[1].history[1].value == 1.0);

  auto rejects = [&](const char* body, const char* message) {
    INFO(body);
    CHECK_THROWS_WITH(parse_invocations(body, batch), Catch::Contains(message));
  };
  rejects("{", "malformed JSON");
  rejects("[1]", "the request must be a JSON object");
  rejects(R"({"k":3})", "user_id is required (a string)");
  rejects(R"({"user_id":7})", "user_id is required (a string)");
  rejects(R"({"user_id":""})", "user_id must not be empty");
  rejects(R"({"user_id":"u","k":0})", "k must be an integer between 1 and 10000, got 0");
  rejects(R"({"user_id":"u","k":-2})", "got -2");
  rejects(R"({"user_id":"u","k":10001})", "got 10001");
  rejects(R"({"user_id":"u","k":2.5})", "got 2.5");
  rejects(R"({"user_id":"u","k":"3"})", "k must be an integer");
  rejects(R"({"user_id":"u","include_seen":1})", "include_seen must be true or false");
  rejects(R"({"user_id":"u","exclude":"v1"})", "exclude must be an array of video id strings");
  rejects(R"({"user_id":"u","history":[{"value":1}]})", "history[0].videoId is required");
  rejects(R"({"user_id":"u","history":[{"videoId":"v","value":"x"}]})",
          "history[0].value must be a finite number");
  rejects(R"({"instances":{}})", "instances must be an array");
  rejects(R"({"instances":[{"user_id":"a"},{"k":1}]})", "instances[1].user_id is required");
}

TEST_CASE("serve: statuses in the documented order", "[serve]") {
  Fixture f;
  CHECK(f.api.handle({"GET", "/nope", "", ""}).status == 404);
  const HttpReply wrong = f.api.handle({"GET", "/invocations", "", ""});
  CHECK(wrong.status == 405);
  CHECK(wrong.allow == "POST");
  CHECK(f.api.handle({"POST", "/ping", "", ""}).status == 405);
  CHECK(f.post("/invocations", R"({"user_id":"u1"})", "text/plain").status == 415);
  CHECK(f.post("/invocations", R"({"user_id":"u1"})", "").status == 415);
  CHECK(f.post("/invocations", R"({"user_id":"u1"})", "Application/JSON; charset=utf-8").status == 200);
  const HttpReply bad = f.post("/invocations", R"({"user_id":"u1","k":0})");
  CHECK(bad.status == 400);
  CHECK(nlohmann::json::parse(bad.body)["error"] == "k must be an integer between 1 and 10000, got 0");
  CHECK(f.post("/similar", R"({"video_id":"nope"})").status == 404);
  CHECK(f.api.handle({"GET", "/ping", "", ""}).status == 200);

  ModelSlot empty;
  Metrics m;
  const Api none(empty, m);
  CHECK(none.handle({"GET", "/ping", "", ""}).status == 503);
  CHECK(none.handle({"POST", "/invocations", "application/json", "{}"}).status == 503);
  CHECK(none.handle({"GET", "/metrics", "", ""}).status == 200);
}

TEST_CASE("serve: /invocations answers the bytes `recommend` prints", "[serve]") {
  Fixture f;
  const Model& m = f.slot.get()->model();
  std::ostringstream expected;
  RecommendOptions o;
  o.k = 3;
  ResultWriter w(expected, Format::Json, ResultWriter::Kind::Recommend, m, false);
  w.write(Recommender(m, o).for_user("u4"));
  w.finish();
  const HttpReply r = f.post("/invocations", R"({"user_id":"u4","k":3})");
  CHECK(r.status == 200);
  CHECK(r.body == expected.str());

  const HttpReply batch =
      f.post("/invocations", R"({"instances":[{"user_id":"u4","k":3},{"user_id":"ghost","k":2}]})");
  const auto j = nlohmann::ordered_json::parse(batch.body);
  REQUIRE(j["predictions"].size() == 2);
  CHECK(j["predictions"][0].dump() + "\n" == expected.str());
  CHECK(j["predictions"][1]["userId"] == "ghost");
  CHECK(j["predictions"][1]["source"] == "popular");
}

TEST_CASE("serve: folding in a user's own history recovers their recommendations", "[serve]") {
  Fixture f;
  const Model& m = f.slot.get()->model();
  const Dataset ds = Dataset::open(trained().dir.file("d.vrd"));
  const CsrView ui = ds.user_items();
  int same_top3 = 0, users = 0;
  for (uint32_t u = 0; u < m.n_users(); ++u) {
    nlohmann::json history = nlohmann::json::array();
    for (uint64_t e = ui.row_begin(u); e < ui.row_end(u); ++e)
      history.push_back({{"videoId", std::string(ds.video_id(ui.indices[e]))}, {"value", ui.values[e]}});
    const std::string id(m.user_id(u));
    const auto known =
        videos_of(f.post("/invocations", nlohmann::json{{"user_id", id}, {"k", 3}}.dump()).body);
    const auto folded =
        videos_of(f.post("/invocations",
                         nlohmann::json{{"user_id", "new-" + id}, {"k", 3}, {"history", history}}.dump())
                      .body);
    REQUIRE(folded.size() == 3);
    for (const auto& v : folded)  // never a video from the history
      CHECK(std::none_of(history.begin(), history.end(), [&](const auto& h) { return h["videoId"] == v; }));
    same_top3 += std::set<std::string>(known.begin(), known.end()) ==
                 std::set<std::string>(folded.begin(), folded.end());
    ++users;
  }
  // The last ALS step solved the users against slightly older video factors,
  // so a few sets may differ at the margin; most must match.
  CHECK(same_top3 >= users * 9 / 10);
}

TEST_CASE("serve: history without a known video falls back like a plain request", "[serve]") {
  Fixture f;
  const HttpReply r =
      f.post("/invocations", R"({"user_id":"x","k":2,"history":[{"videoId":"zzz","value":3}]})");
  CHECK(nlohmann::json::parse(r.body)["source"] == "popular");
  const HttpReply seen =
      f.post("/invocations",
             R"({"user_id":"x","k":100,"include_seen":true,"history":[{"videoId":"g0v1","value":3}]})");
  CHECK(videos_of(seen.body).size() == 60);
}

TEST_CASE("serve: metrics in the Prometheus text format", "[serve]") {
  Fixture f;
  f.metrics.observe(Metrics::Invocations, 200, 0.0003);
  f.metrics.observe(Metrics::Invocations, 400, 2.0);
  f.metrics.model_loaded();
  const std::string text = f.api.handle({"GET", "/metrics", "", ""}).body;
  CHECK_THAT(text, Catch::Contains("# TYPE vidrec_requests_total counter\n"));
  CHECK_THAT(text, Catch::Contains("vidrec_requests_total{endpoint=\"/invocations\",status=\"200\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("vidrec_request_errors_total{endpoint=\"/invocations\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("# TYPE vidrec_request_duration_seconds histogram\n"));
  CHECK_THAT(text,
             Catch::Contains(
                 "vidrec_request_duration_seconds_bucket{endpoint=\"/invocations\",le=\"0.00025\"} 0\n"));
  CHECK_THAT(
      text,
      Catch::Contains("vidrec_request_duration_seconds_bucket{endpoint=\"/invocations\",le=\"0.0005\"} 1\n"));
  CHECK_THAT(text, Catch::Contains(
                       "vidrec_request_duration_seconds_bucket{endpoint=\"/invocations\",le=\"+Inf\"} 2\n"));
  CHECK_THAT(text, Catch::Contains("vidrec_request_duration_seconds_count{endpoint=\"/invocations\"} 2\n"));
  CHECK_THAT(text, Catch::Contains("vidrec_model_loaded 1\n"));
  CHECK_THAT(text, Catch::Contains("vidrec_model_info{header_checksum=\""));
  // Every line is a comment or `name{labels} value`.
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    INFO(line);
    CHECK((line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0 ||
           (line.rfind("vidrec_", 0) == 0 && line.find(' ') != std::string::npos)));
  }
}

TEST_CASE("serve: the server refuses a bad model at start and a bad reload keeps the old", "[serve]") {
  test::TempDir dir;
  test::write_text(dir.file("bad.vrm"), "not a model");
  ServeConfig cfg;
  cfg.model_path = dir.file("bad.vrm");
  cfg.port = 0;
  cfg.access_log = false;
  Server bad(cfg);
  CHECK_THROWS_AS(bad.start(), FormatError);

  std::filesystem::copy_file(trained().model, dir.file("m.vrm"));
  cfg.model_path = dir.file("m.vrm");
  Server s(cfg);
  s.start();
  CHECK(s.port() > 0);
  CHECK(s.running());
  const auto before = s.slot().get();
  test::write_text(dir.file("m.vrm"), "garbage");
  CHECK_FALSE(s.reload());
  CHECK(s.slot().get() == before);
  std::filesystem::copy_file(trained().model, dir.file("m.vrm"),
                             std::filesystem::copy_options::overwrite_existing);
  CHECK(s.reload());
  CHECK(s.slot().get() != before);
  s.stop();
  CHECK_FALSE(s.running());
  CHECK_THROWS_AS(ServeConfig{}.validate(), ConfigError);
}

TEST_CASE("serve: batched scoring answers what top_k answers alone", "[serve]") {
  const auto sm = ServingModel::load(trained().model);
  const Model& m = sm->model();
  std::mt19937 rng(3);
  constexpr size_t kJobs = 600;
  std::vector<ScoringJob> jobs(kJobs);
  std::vector<std::vector<uint8_t>> blocked(kJobs);
  for (size_t i = 0; i < kJobs; ++i) {
    ScoringJob& j = jobs[i];
    const auto u = uint32_t(rng() % m.n_users());
    j.model = sm.get();
    j.query = m.user_vector(u);
    // Small ks share passes; one above kSharedK is scored alone.
    j.k = i % 97 == 0 ? kSharedK + 1 : 1 + uint32_t(rng() % 15);
    if (rng() % 2) std::tie(j.exclusion.seen_begin, j.exclusion.seen_end) = m.seen(u);
    if (rng() % 3 == 0) {
      blocked[i].assign(m.n_videos(), 0);
      for (int b = 0; b < 10; ++b) blocked[i][rng() % m.n_videos()] = 1;
      j.exclusion.blocked = blocked[i].data();
    }
  }
  // Rounds of mixed sizes (1 to 40 jobs), from several threads at once.
  std::vector<std::thread> loops;
  for (size_t t = 0; t < 3; ++t)
    loops.emplace_back([&, t] {
      std::vector<ScoringJob*> round;
      for (size_t i = t, size = 1; i < kJobs; size = size % 40 + 1) {
        round.clear();
        for (; round.size() < size && i < kJobs; i += 3) round.push_back(&jobs[i]);
        score_jobs(round.data(), round.size());
      }
    });
  for (std::thread& t : loops) t.join();
  size_t mismatches = 0;
  for (const ScoringJob& j : jobs) {
    std::vector<Scored> alone;
    top_k(m.panel(), &j.query, &j.exclusion, 1, j.k, &alone);
    mismatches +=
        j.failed || j.result.size() != alone.size() ||
        !std::equal(alone.begin(), alone.end(), j.result.begin(), [](const Scored& a, const Scored& b) {
          return a.video == b.video && a.score == b.score;
        });
  }
  CHECK(mismatches == 0);
}
