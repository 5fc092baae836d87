// SPDX-License-Identifier: MIT
#include "vidrec/serve/serve.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "test_util.hpp"
#include "vidrec/als/train.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/ingest/prepare.hpp"
#include "vidrec/recommend/recommend.hpp"
#include "vidrec/serve/api.hpp"

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
          "history[0].value must be a number between -1e9 and 1e9, got \"x\"");
  rejects(R"({"instances":{}})", "instances must be an array");
  // "ef": the ANN index's search breadth (model/ann.hpp).
  CHECK(parse_invocations(R"({"user_id":"u","ef":250})", batch)[0].ef == 250);
  CHECK(parse_invocations(R"({"user_id":"u"})", batch)[0].ef == 0);
  rejects(R"({"user_id":"u","ef":0})", "ef must be an integer between 1 and 100000, got 0");
  rejects(R"({"user_id":"u","ef":100001})", "got 100001");
  rejects(R"({"user_id":"u","ef":"50"})", "ef must be an integer");
  rejects(R"({"instances":[{"user_id":"a","ef":-1}]})", "instances[0].ef must be an integer");
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

TEST_CASE("serve: reloads run on a watcher below the loops' priority; request_reload returns at once",
          "[serve]") {
  test::TempDir dir;
  std::filesystem::copy_file(trained().model, dir.file("m.vrm"));
  ServeConfig cfg;
  cfg.model_path = dir.file("m.vrm");
  cfg.port = 0;
  cfg.access_log = false;
  cfg.watch_interval = std::chrono::hours(1);  // only request_reload() wakes it
  // Each thread's name and nice (fields 2 and 19 of /proc/self/task/T/stat).
  auto threads = [] {
    std::map<std::string, std::vector<long>> out;
    for (const auto& t : std::filesystem::directory_iterator("/proc/self/task")) {
      const std::string stat = test::read_text(t.path().string() + "/stat");
      const size_t open = stat.find('('), close = stat.rfind(')');
      std::istringstream rest(stat.substr(close + 2));
      std::string field;
      for (int i = 3; i < 19 && rest >> field;) ++i;
      long nice = 0;
      rest >> nice;
      out[stat.substr(open + 1, close - open - 1)].push_back(nice);
    }
    return out;
  };
  const long base = ::getpriority(PRIO_PROCESS, 0);
  Server s(cfg);
  s.start();
  const auto named = threads();
  REQUIRE(named.count("vidrec-reload") == 1);
  CHECK(named.at("vidrec-reload") == std::vector<long>{std::min(base + 10, 19L)});
  size_t others_lowered = 0;
  for (const auto& [name, nices] : named)
    if (name != "vidrec-reload")
      for (const long n : nices) others_lowered += n != base;
  CHECK(others_lowered == 0);  // the event loops keep the process's priority

  const auto before = s.slot().get();
  const auto asked = std::chrono::steady_clock::now();
  s.request_reload();
  CHECK(std::chrono::steady_clock::now() - asked < std::chrono::milliseconds(50));
  for (int i = 0; i < 1000 && s.slot().get() == before; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(s.slot().get() != before);  // loaded again although the file did not change
  // A refused file keeps the model; stop() returns with a reload asked for.
  const auto second = s.slot().get();
  test::write_text(dir.file("m.vrm"), "garbage");
  s.request_reload();
  s.request_reload();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(s.slot().get() == second);
  s.stop();
  CHECK_FALSE(s.running());
  CHECK(threads().count("vidrec-reload") == 0);
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

namespace {
// `levels` arrays around `inner`: 80,000 levels is 160 KB, under --max-body.
std::string nested(size_t levels, const std::string& inner = "1") {
  return std::string(levels, '[') + inner + std::string(levels, ']');
}
std::string objects(size_t levels) {
  std::string s;
  for (size_t i = 0; i < levels; ++i) s += R"({"a":)";
  return s;
}
}  // namespace

TEST_CASE("serve: deeply nested JSON is a 400 naming the limit, in any field", "[serve]") {
  Fixture f;
  const std::string deep = nested(80000);
  const std::vector<std::pair<std::string, std::string>> bodies = {
      {"/invocations", R"({"user_id":"u1","k":)" + deep + "}"},
      {"/invocations", R"({"user_id":"u1","include_seen":)" + deep + "}"},
      {"/invocations", R"({"user_id":"u1","exclude":["v",)" + deep + "]}"},
      {"/invocations", R"({"user_id":"u1","history":[{"videoId":"g0v1","value":)" + deep + "}]}"},
      {"/invocations", R"({"instances":[{"user_id":"u1","k":)" + deep + "}]}"},
      {"/invocations", deep},
      {"/invocations", R"({"user_id":"u1","extra":)" + objects(40000)},  // objects, never closed
      {"/similar", R"({"video_id":"g0v1","k":)" + deep + "}"},
      {"/similar", R"({"video_id":"g0v1","exclude":)" + deep + "}"},
  };
  for (const auto& [path, body] : bodies) {
    INFO(path << " " << body.substr(0, 60));
    const HttpReply r = f.post(path, body);
    CHECK(r.status == 400);
    CHECK_THAT(nlohmann::json::parse(r.body)["error"].get<std::string>(),
               Catch::StartsWith("JSON nested deeper than 32 levels at "));
    CHECK(r.body.size() < 300);
  }
  // The limit itself still parses; the path names where it was passed.
  CHECK(f.post("/invocations", R"({"user_id":"u1","extra":)" + nested(31) + "}").status == 200);
  CHECK_THAT(f.post("/invocations", R"({"instances":[{"user_id":"u1","exclude":)" + nested(30) + "}]}").body,
             Catch::Contains("levels at instances[0].exclude[0]"));
}

TEST_CASE("serve: error messages show a bounded piece of the offending value", "[serve]") {
  Fixture f;
  const std::string big(100000, 'x');
  for (const std::string& body :
       {R"({"user_id":"u1","k":")" + big + R"("})", R"({"user_id":"u1","include_seen":")" + big + R"("})",
        R"({"user_id":"u1","exclude":[")" + big + R"(",)" + nested(20) + "]}",
        R"({"user_id":"u1","k":[)" + std::string(50000, '1') + "]}", R"({"user_id":")" + big}) {
    const HttpReply r = f.post("/invocations", body);
    CHECK(r.status == 400);
    CHECK(r.body.size() < 400);
  }
  CHECK_THAT(f.post("/invocations", R"({"user_id":"u1","k":[[1]]})").body,
             Catch::Contains("k must be an integer between 1 and 10000, got an array"));
}

namespace {
// The fold-in solved independently: the normal equations in long double by
// Gaussian elimination, every video scored, the history excluded.
std::vector<std::pair<long double, uint32_t>> exact_fold_in(const ServingModel& sm,
                                                            const std::vector<uint32_t>& videos,
                                                            const std::vector<double>& weights) {
  const Model& m = sm.model();
  const size_t f = m.factors();
  auto y = [&](uint32_t v, size_t a) { return (long double)m.video_factors()[size_t(v) * f + a]; };
  std::vector<std::vector<long double>> A(f, std::vector<long double>(f + 1, 0.0L));
  for (uint32_t v = 0; v < m.n_videos(); ++v)
    for (size_t a = 0; a < f; ++a)
      for (size_t b = 0; b < f; ++b) A[a][b] += y(v, a) * y(v, b);
  for (size_t a = 0; a < f; ++a) A[a][a] += sm.als().regularization;
  for (size_t j = 0; j < videos.size(); ++j) {
    const long double c = sm.als().confidence_of((long double)weights[j]);
    for (size_t a = 0; a < f; ++a) {
      for (size_t b = 0; b < f; ++b) A[a][b] += (c - 1) * y(videos[j], a) * y(videos[j], b);
      A[a][f] += c * y(videos[j], a);
    }
  }
  for (size_t col = 0; col < f; ++col) {
    size_t p = col;
    for (size_t r = col + 1; r < f; ++r)
      if (std::fabs(A[r][col]) > std::fabs(A[p][col])) p = r;
    std::swap(A[col], A[p]);
    for (size_t r = 0; r < f; ++r)
      if (r != col) {
        const long double factor = A[r][col] / A[col][col];
        for (size_t c = col; c <= f; ++c) A[r][c] -= factor * A[col][c];
      }
  }
  std::vector<std::pair<long double, uint32_t>> ranked;
  for (uint32_t v = 0; v < m.n_videos(); ++v) {
    if (std::find(videos.begin(), videos.end(), v) != videos.end()) continue;
    long double s = 0;
    for (size_t a = 0; a < f; ++a) s += A[a][f] / A[a][a] * y(v, a);
    ranked.emplace_back(s, v);
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  return ranked;
}
}  // namespace

TEST_CASE("serve: fold-in repeats alpha0, lambda_u, negative pairs and BM25 as training defined them",
          "[serve]") {
  // A model trained with every option, then one history solved here from
  // the definitions (config.hpp, weighting.hpp) with the statistics read
  // from the dataset itself, in long double.
  const Trained& base = trained();
  TrainConfig t;
  t.dataset = base.dir.file("d.vrd");
  t.output = base.dir.file("options.vrm");
  t.als.factors = 6;
  t.als.iterations = 5;
  t.als.regularization = 0.02f;
  t.als.alpha = 3.0f;
  t.als.unobserved_weight = 0.2f;
  t.als.reg_exponent = 0.5f;
  t.als.negative_weight = 1.5f;
  t.als.threads = 1;
  t.weighting.scheme = Weighting::Scheme::Bm25;
  t.weighting.k1 = 5.0f;
  t.weighting.b = 0.5f;
  t.progress = false;
  run_train(t);
  const auto sm = ServingModel::load(t.output);
  const Dataset ds = Dataset::open(t.dataset);
  const Model& m = sm->model();
  const size_t f = m.factors();
  std::vector<long double> df(ds.n_videos(), 0), len(ds.n_users(), 0);
  const CsrView ui = ds.user_items();
  for (uint32_t u = 0; u < ui.rows; ++u)
    for (uint64_t e = ui.row_begin(u); e < ui.row_end(u); ++e) {
      df[ui.indices[e]] += 1;
      len[u] += ui.values[e];
    }
  long double avg = 0;
  for (const long double l : len) avg += l / len.size();
  const auto v = [&](const char* id) { return *sm->find_video(id); };
  std::vector<uint32_t> videos = {v("g0v1"), v("g0v4"), v("g1v2"), v("g2v7")};
  std::sort(videos.begin(), videos.end());
  const std::vector<double> weights = {2, -4, 1, 3};  // paired with the sorted videos
  long double hist_len = 0;
  for (const double w : weights) hist_len += w > 0 ? w : 0;
  auto y = [&](uint32_t vid, size_t a) { return (long double)m.video_factors()[size_t(vid) * f + a]; };
  const long double a0 = 0.2L, alpha = 3.0L;
  std::vector<std::vector<long double>> A(f, std::vector<long double>(f + 1, 0.0L));
  for (uint32_t vid = 0; vid < m.n_videos(); ++vid)
    for (size_t a = 0; a < f; ++a)
      for (size_t b = 0; b < f; ++b) A[a][b] += a0 * y(vid, a) * y(vid, b);
  long double positives = 0;
  for (size_t j = 0; j < videos.size(); ++j) {
    long double c = 0, p = 0;
    if (weights[j] > 0) {
      const long double idf = std::log((long double)ds.n_users()) - std::log(1 + df[videos[j]]);
      const long double w = weights[j] * 6.0L / (5.0L * (0.5L + 0.5L * hist_len / avg) + weights[j]) * idf;
      c = 1 + alpha * w, p = 1, positives += 1;
    } else {
      c = a0 + 1.5L * (alpha * -weights[j]);  // negative weight 1.5 x (c(|w|) - 1)
    }
    for (size_t a = 0; a < f; ++a) {
      for (size_t b = 0; b < f; ++b) A[a][b] += (c - a0) * y(videos[j], a) * y(videos[j], b);
      A[a][f] += c * p * y(videos[j], a);
    }
  }
  const long double lambda = 0.02L * std::sqrt(positives + a0 * m.n_videos());
  for (size_t a = 0; a < f; ++a) A[a][a] += lambda;
  for (size_t col = 0; col < f; ++col)  // Gauss-Jordan; A is positive definite
    for (size_t r = 0; r < f; ++r)
      if (r != col) {
        const long double factor = A[r][col] / A[col][col];
        for (size_t c = col; c <= f; ++c) A[r][c] -= factor * A[col][c];
      }
  std::vector<std::pair<long double, uint32_t>> want;
  for (uint32_t vid = 0; vid < m.n_videos(); ++vid) {
    if (std::find(videos.begin(), videos.end(), vid) != videos.end()) continue;
    long double score = 0;
    for (size_t a = 0; a < f; ++a) score += A[a][f] / A[a][a] * y(vid, a);
    want.emplace_back(score, vid);
  }
  std::sort(want.begin(), want.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  Exclusion ex;
  ex.seen_begin = videos.data();
  ex.seen_end = videos.data() + videos.size();
  const auto got = sm->fold_in(videos, weights, ex, 5);
  REQUIRE(got.size() == 5);
  const long double scale = std::fabs(want.front().first);
  for (size_t i = 0; i < got.size(); ++i)
    CHECK(std::fabs((long double)got[i].score - want[i].first) <= 1e-4L * scale);
}

TEST_CASE("serve: fold-in with large history values ranks as an exact solve does", "[serve]") {
  const auto sm = ServingModel::load(trained().model);
  const auto v = [&](const char* id) { return *sm->find_video(id); };
  const std::vector<std::pair<std::vector<uint32_t>, std::vector<double>>> histories = {
      {{v("g0v1")}, {1e9}},
      {{v("g0v1"), v("g1v2"), v("g2v3")}, {1e9, 1e9, 5e8}},
      {{v("g0v1"), v("g0v2"), v("g1v1"), v("g2v5")}, {1, 1e3, 1e6, 1e9}},
      {{v("g1v4")}, {1e10}},  // ten times the bound: margin
      {{v("g0v1"), v("g0v4"), v("g0v7")}, {1, 2, 3}},
  };
  for (const auto& [videos, weights] : histories) {
    std::vector<uint32_t> sorted = videos;
    std::sort(sorted.begin(), sorted.end());
    std::vector<double> w(sorted.size());
    for (size_t i = 0; i < videos.size(); ++i)
      w[size_t(std::find(sorted.begin(), sorted.end(), videos[i]) - sorted.begin())] = weights[i];
    Exclusion ex;
    ex.seen_begin = sorted.data();
    ex.seen_end = sorted.data() + sorted.size();
    const auto got = sm->fold_in(sorted, w, ex, 10);
    const auto want = exact_fold_in(*sm, sorted, w);
    INFO("history weights " << w.front() << " ... " << w.back());
    REQUIRE(got.size() == 10);
    const long double scale = std::fabs(want.front().first);
    for (size_t i = 0; i < got.size(); ++i) {
      const auto it =
          std::find_if(want.begin(), want.end(), [&](const auto& p) { return p.second == got[i].video; });
      REQUIRE(it != want.end());  // never a history video
      // In the exact order (equal up to rounding where the exact scores tie).
      CHECK(std::fabs(it->first - want[i].first) <= 1e-5L * scale);
      CHECK(std::fabs((long double)got[i].score - it->first) <= 1e-4L * scale);
    }
  }
}

TEST_CASE("serve: history values out of range are a 400 naming the field", "[serve]") {
  Fixture f;
  const auto status_and_error = [&](const std::string& body) {
    const HttpReply r = f.post("/invocations", body);
    return std::to_string(r.status) + " " + nlohmann::json::parse(r.body)["error"].get<std::string>();
  };
  CHECK(status_and_error(R"({"user_id":"n","history":[{"videoId":"g0v1","value":1e15}]})") ==
        "400 history[0].value must be a number between -1e9 and 1e9, got 1e+15");
  CHECK(status_and_error(R"({"user_id":"n","history":[{"videoId":"g0v1","value":-2e9}]})") ==
        "400 history[0].value must be a number between -1e9 and 1e9, got -2000000000.0");
  CHECK(status_and_error(R"({"user_id":"n","history":[{"videoId":"g0v1","value":1e400}]})") ==
        "400 history[0].value must be a finite number, got 1e400");
  CHECK(status_and_error(
            R"({"user_id":"n","history":[{"videoId":"g0v1"},{"videoId":"g0v2","value":-1e400}]})") ==
        "400 history[1].value must be a finite number, got -1e400");
  CHECK(status_and_error(
            R"({"instances":[{"user_id":"a"},{"user_id":"n","history":[{"value":1e999,"videoId":"x"}]}]})") ==
        "400 instances[1].history[0].value must be a finite number, got 1e999");
  CHECK(status_and_error(R"({"user_id":"n","k":1e400})") == "400 k must be a finite number, got 1e400");
  CHECK(status_and_error(R"([1,2,1e400])") == "400 [2] must be a finite number, got 1e400");
  // Per video too, after summing.
  CHECK(status_and_error(
            R"({"user_id":"n","history":[{"videoId":"g0v1","value":1e9},{"videoId":"g0v1","value":1}]})") ==
        R"(400 history: the values of videoId "g0v1" must sum to between -1e9 and 1e9, got 1000000001.0)");
  // The bound itself is accepted and ranked.
  const HttpReply ok =
      f.post("/invocations", R"({"user_id":"n","k":5,"history":[{"videoId":"g0v1","value":1e9},
      {"videoId":"g0v1","value":1e9},{"videoId":"g0v1","value":-1e9},{"videoId":"g1v1","value":-1e9}]})");
  CHECK(ok.status == 200);
  CHECK(videos_of(ok.body).size() == 5);
}

namespace {
// Sends `bytes` to 127.0.0.1:port (then half-closes unless `hold` seconds
// of silence are wanted first) and returns all it answers until it closes.
std::string talk(int port, const std::string& bytes, int hold = 0) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) break;
    done += size_t(n);
  }
  if (hold > 0) std::this_thread::sleep_for(std::chrono::seconds(hold));
  std::string reply;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) reply.append(buf, size_t(n));
  ::close(fd);
  return reply;
}

// The value of one /metrics line ("name{labels}"), 0 when absent.
uint64_t metric(int port, const std::string& name) {
  const std::string page = talk(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const size_t at = page.find("\n" + name + " ");
  return at == std::string::npos ? 0 : std::stoull(page.substr(at + name.size() + 2));
}
}  // namespace

TEST_CASE("serve: requests libmicrohttpd refuses itself are counted in /metrics", "[serve]") {
  test::TempDir dir;
  std::filesystem::copy_file(trained().model, dir.file("m.vrm"));
  ServeConfig cfg;
  cfg.model_path = dir.file("m.vrm");
  cfg.port = 0;
  cfg.threads = 1;
  cfg.access_log = false;
  cfg.read_timeout = std::chrono::seconds(1);
  Server s(cfg);
  s.start();
  const int port = s.port();
  const auto status = [](const std::string& reply) { return reply.substr(0, 12); };

  // Headers over the 8 KiB pool: 431, from libmicrohttpd.
  CHECK(status(talk(port, "GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(10000, 'a') +
                              "\r\n\r\n")) == "HTTP/1.1 431");
  CHECK(metric(port, R"(vidrec_requests_total{endpoint="/ping",status="431"})") == 1);
  // An unsupported HTTP version: 505.
  CHECK(status(talk(port, "GET /ping HTTP/2.5\r\nHost: x\r\n\r\n")) == "HTTP/1.1 505");
  // It comes before the request line is accepted: only MHD's error log sees it.
  CHECK(metric(port, R"(vidrec_library_replies_total{status="505"})") == 1);
  CHECK(metric(port, R"(vidrec_library_replies_total{status="431"})") == 1);
  // A header line without a colon: 400.
  CHECK(status(talk(port, "POST /invocations HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n")) ==
        "HTTP/1.1 400");
  CHECK(metric(port, R"(vidrec_requests_total{endpoint="/invocations",status="400"})") == 1);
  CHECK(metric(port, R"(vidrec_request_errors_total{endpoint="/invocations"})") == 1);

  // A request line libmicrohttpd cannot parse: it closes the connection
  // without a reply; counted as a connection that carried no request.
  const uint64_t before = metric(port, "vidrec_connections_without_request_total");
  talk(port, "GARBAGE\r\n\r\n");
  talk(port, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n");  // TLS on a plain port
  CHECK(metric(port, "vidrec_connections_without_request_total") == before + 2);

  // Begun, never answered: a body that never comes (the read timeout), and
  // a client that leaves mid-body.
  CHECK(talk(port,
             "POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Content-Length: 40\r\n\r\n{\"user",
             3)
            .empty());
  CHECK(metric(port, R"(vidrec_requests_unanswered_total{endpoint="/invocations",reason="timeout"})") == 1);
  {
    const std::string partial = "POST /similar HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n{";
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(uint16_t(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    CHECK(::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL) == ssize_t(partial.size()));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ::close(fd);
  }
  uint64_t gone = 0;
  for (int i = 0; i < 50 && gone == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    gone = metric(port, R"(vidrec_requests_unanswered_total{endpoint="/similar",reason="client_gone"})");
  }
  CHECK(gone == 1);
  CHECK(metric(port, "vidrec_connections_total") >= 10);
  s.stop();
}

TEST_CASE("serve: JSON Lines and CSV bodies, answered in the type Accept asks for", "[serve][content]") {
  Fixture f;
  const auto call = [&](std::string_view path, std::string_view type, std::string_view body,
                        std::string_view accept, std::optional<std::string_view> k = std::nullopt) {
    return f.api.handle({"POST", path, type, body, accept, k});
  };
  const std::string one_u4 = f.post("/invocations", R"({"user_id":"u4","k":3})").body;
  const std::string one_ghost = f.post("/invocations", R"({"user_id":"ghost","k":2})").body;
  const std::string lines = "{\"user_id\":\"u4\",\"k\":3}\r\n\r\n{\"user_id\":\"ghost\",\"k\":2}\r\n";

  // JSON Lines in, JSON Lines out: each line what a lone JSON request answers.
  const HttpReply jl =
      call("/invocations", "application/jsonlines; charset=utf-8", lines, "application/jsonlines");
  CHECK(jl.status == 200);
  CHECK(jl.content_type == "application/jsonlines");
  CHECK(jl.body == one_u4 + one_ghost);
  // JSON Lines in, JSON out (no Accept, or */*): a batch.
  for (const char* accept : {"", "*/*", "application/json"}) {
    const HttpReply j = call("/invocations", "application/jsonlines", lines, accept);
    CHECK(j.content_type == "application/json");
    CHECK(j.body == "{\"predictions\":[" + one_u4.substr(0, one_u4.size() - 1) + "," +
                        one_ghost.substr(0, one_ghost.size() - 1) + "]}\n");
  }
  // A JSON batch may be answered in lines too.
  CHECK(call("/invocations", "application/json",
             R"({"instances":[{"user_id":"u4","k":3},{"user_id":"ghost","k":2}]})", "application/jsonlines")
            .body == one_u4 + one_ghost);

  // CSV in (k from the query), CSV out: the JSON answers' videos, ranks and scores, and the source.
  const HttpReply csv = call("/invocations", "text/csv", "userId\nu4\nghost\n", "text/csv", "3");
  CHECK(csv.status == 200);
  CHECK(csv.content_type == "text/csv; charset=utf-8");
  std::vector<std::string> rows;
  std::istringstream in(csv.body);
  for (std::string row; std::getline(in, row);) rows.push_back(row);
  REQUIRE(rows.size() == 7);
  CHECK(rows[0] == "userId,rank,videoId,score,source");
  const auto u4 = nlohmann::json::parse(one_u4)["recommendations"];
  const auto ghost3 = nlohmann::json::parse(f.post("/invocations", R"({"user_id":"ghost","k":3})").body);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(rows[1 + i].rfind("u4," + std::to_string(i + 1) + "," + u4[i]["videoId"].get<std::string>() + ",",
                            0) == 0);
    CHECK(std::stod(rows[1 + i].substr(rows[1 + i].find(',', 3 + u4[i]["videoId"].get<std::string>().size()) +
                                       1)) == Approx(u4[i]["score"].get<double>()));
    CHECK(rows[1 + i].substr(rows[1 + i].rfind(',')) == ",model");
    CHECK(rows[4 + i].rfind("ghost," + std::to_string(i + 1) + "," +
                                ghost3["recommendations"][i]["videoId"].get<std::string>() + ",",
                            0) == 0);
    CHECK(rows[4 + i].substr(rows[4 + i].rfind(',')) == ",popular");
  }
  // CSV without ?k=: the server's csv_k (10 by default).
  const auto csv_lines = call("/invocations", "text/csv", "ghost\n", "application/jsonlines");
  CHECK(nlohmann::json::parse(csv_lines.body)["recommendations"].size() == 10);
  ModelSlot slot;
  Metrics metrics;
  slot.set(ServingModel::load(trained().model));
  const Api five(slot, metrics, 5);
  CHECK(nlohmann::json::parse(
            five.handle({"POST", "/invocations", "text/csv", "ghost", "application/jsonlines"})
                .body)["recommendations"]
            .size() == 5);

  // Errors: 400 naming the line or the parameter, 406, 415.
  const HttpReply bad_line =
      call("/invocations", "application/jsonlines", "{\"user_id\":\"u4\"}\n{\"k\":3}\n", "");
  CHECK(bad_line.status == 400);
  CHECK(nlohmann::json::parse(bad_line.body)["error"] == "line 2: user_id is required (a string)");
  CHECK(call("/invocations", "text/csv", "u4,2\n", "").status == 400);
  for (const char* k : {"0", "10001", "ten", ""}) {
    const HttpReply r = call("/invocations", "text/csv", "u4\n", "", std::string_view(k));
    CHECK(r.status == 400);
    CHECK_THAT(r.body, Catch::Contains("the query parameter k must be an integer between 1 and 10000"));
  }
  const HttpReply none =
      call("/invocations", "application/json", R"({"user_id":"u4"})", "text/html, image/*");
  CHECK(none.status == 406);
  CHECK(none.content_type == "application/json");
  CHECK(nlohmann::json::parse(none.body)["error"] ==
        "cannot answer in any type Accept allows ('text/html, image/*'); /invocations answers "
        "application/json, "
        "application/jsonlines or text/csv");
  CHECK(call("/invocations", "application/json", R"({"user_id":"u4"})", "text/csv;q=0, application/*;q=0")
            .status == 406);
  // 415 before 406, 406 before the body is read.
  CHECK(call("/invocations", "text/plain", "u4", "text/html").status == 415);
  CHECK(call("/invocations", "application/json", "not json", "text/html").status == 406);
  // /similar reads and answers JSON only.
  CHECK(call("/similar", "application/json", R"({"video_id":"g0v1"})", "text/csv").status == 406);
  CHECK(call("/similar", "text/csv", "g0v1", "").status == 415);
  CHECK(call("/similar", "application/json", R"({"video_id":"g0v1"})", "application/*").status == 200);
}
