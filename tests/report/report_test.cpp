// SPDX-License-Identifier: MIT
// The report's figures against the stages they come from (inspect,
// evaluate), its sampling, its tune log reader and its escaping.
#include "vidrec/report/report.hpp"

#include <catch2/catch.hpp>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/evaluate/evaluate.hpp"
#include "vidrec/inspect/inspect.hpp"

using namespace vidrec;

namespace {

// 40 users x 12 videos, one of them named hostilely; u* train on a few
// videos, test on one more; 2 factors.
struct Fixture {
  test::TempDir dir;
  std::vector<std::string> users, videos;
  Fixture() {
    for (int u = 0; u < 40; ++u) users.push_back("u" + std::to_string(100 + u));
    users[0] = "<script>alert(1)</script>";
    std::sort(users.begin(), users.end());
    for (int v = 0; v < 12; ++v) videos.push_back("v" + std::to_string(10 + v));
    DatasetData train, test;
    for (DatasetData* d : {&train, &test}) {
      d->user_ids = users;
      d->video_ids = videos;
      d->indptr.push_back(0);
    }
    for (uint32_t u = 0; u < 40; ++u) {
      for (uint32_t v = 0; v < 12; ++v) {
        const uint32_t r = (u * 7 + v * 3) % 12;
        DatasetData* d = r < 4 ? &train : r == 5 ? &test : nullptr;
        if (!d) continue;
        d->indices.push_back(v);
        d->weights.push_back(1);
        d->events.push_back(1);
        d->first_ts.push_back(1700000000 + v);
        d->last_ts.push_back(1700000000 + v * 10);
      }
      train.indptr.push_back(train.indices.size());
      test.indptr.push_back(test.indices.size());
    }
    write_dataset(train, dir.file("train.vrd"));
    write_dataset(test, dir.file("test.vrd"));
    std::vector<float> uf(2 * 40), vf(2 * 12);
    for (size_t i = 0; i < uf.size(); ++i) uf[i] = float((i * 37) % 11) / 11 - 0.4f;
    for (size_t i = 0; i < vf.size(); ++i) vf[i] = float((i * 53) % 13) / 13 - 0.3f;
    ModelData md;
    md.factors = 2;
    md.user_factors = uf.data();
    md.video_factors = vf.data();
    md.meta = {{"training", {{"iteration_seconds", {0.5, 0.25}}, {"loss", {0.3, 0.2}}}}};
    write_model(Dataset::open(dir.file("train.vrd")), md, dir.file("m.vrm"));
  }
  ReportConfig config() const {
    ReportConfig c;
    c.model = dir.file("m.vrm");
    c.test = dir.file("test.vrd");
    c.dataset = dir.file("train.vrd");
    c.output = dir.file("r.html");
    c.max_k = 12;
    c.threads = 2;
    c.quiet = true;
    return c;
  }
};

}  // namespace

TEST_CASE("report figures equal inspect's and evaluate's", "[report]") {
  Fixture fx;
  const nlohmann::json d = report_data(fx.config());
  CHECK(d["model"] == describe_file(fx.dir.file("m.vrm")));
  CHECK(d["dataset"] == describe_file(fx.dir.file("train.vrd")));
  const Model m = Model::open(fx.dir.file("m.vrm"));
  const Dataset t = Dataset::open(fx.dir.file("test.vrd"));
  REQUIRE(d["evaluation"]["at"].size() == 12);
  CHECK(d["evaluation"]["sampled"] == false);
  for (uint32_t k = 1; k <= 12; ++k) {
    EvaluateConfig ec;
    ec.k = k;
    CHECK(d["evaluation"]["at"][k - 1] == evaluate(m, t, ec).to_json());
  }
  // Every user recommended: lists of 10 over the 12 videos less the user's own.
  uint64_t lists = 0;
  for (uint32_t u = 0; u < 40; ++u) lists += std::min<uint64_t>(10, 12 - (m.seen_end(u) - m.seen_begin(u)));
  CHECK(d["catalog"]["users"] == 40);
  CHECK(d["catalog"]["recommendations"] == lists);
  CHECK(d["catalog"]["interactions"] == m.seen_total());
  uint64_t rec = 0;
  for (const auto& b : d["catalog"]["bins"]) rec += b["recommendations"].get<uint64_t>();
  CHECK(rec == lists);
  // History from the dataset, newest first.
  const auto& h = d["samples"]["users"][0]["history"];
  for (size_t i = 1; i < h.size(); ++i)
    CHECK(h[i - 1]["last"].get<std::string>() >= h[i]["last"].get<std::string>());
}

TEST_CASE("report samples users with a stated seed", "[report]") {
  Fixture fx;
  ReportConfig c = fx.config();
  c.sample_users = 7;
  const nlohmann::json a = report_data(c), b = report_data(c);
  CHECK(a == b);
  CHECK(a["evaluation"]["sampled"] == true);
  CHECK(a["evaluation"]["at"][0]["test_users"] == 7);
  CHECK(a["catalog"]["users"] == 7);
  c.seed = 43;
  CHECK(report_data(c)["catalog"] != a["catalog"]);
}

TEST_CASE("report page: escaped ids, embedded JSON that no id can close", "[report]") {
  Fixture fx;
  ReportConfig c = fx.config();
  c.sample_shown = 40;  // every user in the table, the hostile one too
  const std::string html = render_html(report_data(c));
  CHECK(html.find("<script>alert") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(html.find("\\u003cscript\\u003ealert(1)\\u003c/script\\u003e") != std::string::npos);
  // One script element: the data block.
  CHECK(html.find("<script") == html.rfind("<script"));
  CHECK(html.find("http://") == html.find("http://www.w3.org/2000/svg"));  // no other URL
  run_report(c);
  CHECK(test::read_text(c.output) == html);
}

TEST_CASE("report tune log: evaluations, the best, and errors naming the line", "[report]") {
  Fixture fx;
  ReportConfig c = fx.config();
  c.test.clear();
  c.tune_log = fx.dir.file("tune.jsonl");
  test::write_text(
      c.tune_log,
      "{\"trial\":0,\"iterations\":4,\"parameters\":{\"factors\":16},\"metric\":\"ndcg@10\",\"value\":0.1}\n"
      "\n{\"trial\":1,\"iterations\":4,\"parameters\":{\"factors\":32},\"value\":null,\"error\":\"x\"}\n"
      "{\"trial\":2,\"iterations\":8,\"parameters\":{\"factors\":64},\"metric\":\"ndcg@10\",\"value\":0.3}\n"
      "{\"trial\":3,\"iterations\":8,\"parameters\":{\"factors\":64},\"metric\":\"ndcg@10\",\"value\":0.3}"
      "\n");
  const nlohmann::json d = report_data(c);
  CHECK(d["evaluation"].is_null());
  CHECK(d["tune"]["evaluations"].size() == 3);
  CHECK(d["tune"]["diverged"] == 1);
  CHECK(d["tune"]["best"] == 1);  // trial 2: the first of the equal best
  CHECK(render_html(d).find("class=\"best\"") != std::string::npos);

  test::write_text(c.tune_log, "{\"trial\":0,\"parameters\":{},\"value\":0.1}\nnot json\n");
  CHECK_THROWS_WITH(report_data(c), Catch::Contains("tune.jsonl:2: not a JSON object"));
  test::write_text(c.tune_log, "{\"trial\":0}\n");
  CHECK_THROWS_WITH(report_data(c), Catch::Contains("tune.jsonl:1: no \"parameters\""));
  c.tune_log = fx.dir.file("missing.jsonl");
  CHECK_THROWS_AS(report_data(c), IoError);

  c.tune_log.clear();
  c.max_k = 255;
  CHECK_THROWS_AS(report_data(c), ConfigError);
}
