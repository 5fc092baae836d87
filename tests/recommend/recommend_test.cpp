// SPDX-License-Identifier: MIT
#include "vidrec/recommend/recommend.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>

#include "fuzz/reseal.hpp"
#include "test_util.hpp"
#include "vidrec/base/errors.hpp"

using namespace vidrec;

namespace {

// Users a, b, c; videos v1..v4; two factors chosen so scores are exact in float:
//   a = (1, 0)   b = (0, 1)   c = (1, 1)
//   v1 = (0.75, 0)  v2 = (0.5, 0.5)  v3 = (0, 0.75)  v4 = (0.25, 0.125)
// Seen: a {v1}, b {v2, v3}, c {v2}. Popularity (distinct users): v2 2, v1 1, v3 1, v4 0.
struct Fixture {
  test::TempDir dir;
  Model model;
  Fixture() : model(build(dir)) {}
  static Model build(const test::TempDir& dir) {
    DatasetData d;
    d.user_ids = {"a", "b", "c"};
    d.video_ids = {"v1", "v2", "v3", "v4"};
    d.indptr = {0, 1, 3, 4};
    d.indices = {0, 1, 2, 1};
    d.weights = {1, 1, 1, 1};
    d.events = {1, 1, 1, 1};
    d.first_ts = d.last_ts = {0, 0, 0, 0};
    write_dataset(d, dir.file("d.vrd"));
    const std::vector<float> users = {1, 0, 0, 1, 1, 1};
    const std::vector<float> videos = {0.75f, 0, 0.5f, 0.5f, 0, 0.75f, 0.25f, 0.125f};
    ModelData md;
    md.factors = 2;
    md.user_factors = users.data();
    md.video_factors = videos.data();
    write_model(Dataset::open(dir.file("d.vrd")), md, dir.file("m.vrm"));
    return Model::open(dir.file("m.vrm"));
  }
};

std::string render(const Model& m, Format f, const std::vector<Recommendations>& rs, bool several,
                   ResultWriter::Kind kind = ResultWriter::Kind::Recommend) {
  std::ostringstream out;
  ResultWriter w(out, f, kind, m, several);
  for (const auto& r : rs) w.write(r);
  w.finish();
  return out.str();
}

RecommendOptions with_k(uint32_t k) {
  RecommendOptions o;
  o.k = k;
  return o;
}

}  // namespace

TEST_CASE("recommend: the seed's JSON, byte for byte", "[recommend]") {
  Fixture fx;
  const Recommender rec(fx.model, with_k(2));
  CHECK(render(fx.model, Format::Json, {rec.for_user("a")}, false) ==
        "{\"userId\":\"a\",\"recommendations\":[{\"videoId\":\"v2\",\"score\":0.5},"
        "{\"videoId\":\"v4\",\"score\":0.25}]}\n");
  // c = (1,1): v2 1.0 is seen; v1 0.75, v3 0.75 tie -> lower index first.
  CHECK(render(fx.model, Format::Json, {rec.for_user("c")}, false) ==
        "{\"userId\":\"c\",\"recommendations\":[{\"videoId\":\"v1\",\"score\":0.75},"
        "{\"videoId\":\"v3\",\"score\":0.75}]}\n");
}

TEST_CASE("unknown users get popular videos, marked", "[recommend]") {
  Fixture fx;
  const Recommender rec(fx.model, with_k(3));
  const Recommendations r = rec.for_user("nobody");
  CHECK(r.source == Source::Popular);
  CHECK(render(fx.model, Format::Json, {r}, false) ==
        "{\"userId\":\"nobody\",\"source\":\"popular\",\"recommendations\":[{\"videoId\":\"v2\",\"score\":0."
        "6666667},"
        "{\"videoId\":\"v1\",\"score\":0.33333334},{\"videoId\":\"v3\",\"score\":0.33333334}]}\n");
}

TEST_CASE("include_seen, k beyond the catalogue, blocked and only lists", "[recommend]") {
  Fixture fx;
  RecommendOptions o = with_k(10);
  o.include_seen = true;
  const Recommendations all = Recommender(fx.model, o).for_user("a");
  REQUIRE(all.items.size() == 4);
  CHECK(all.items[0].video == 0);  // v1, seen, kept
  CHECK(Recommender(fx.model, with_k(10)).for_user("b").items.size() == 2);

  const std::vector<std::string> exclude = {"v2", "nope"}, only = {"v3", "v4", "v2"};
  size_t unknown = 0;
  RecommendOptions b = with_k(10);
  b.blocked = block_map(fx.model, &exclude, &only, unknown);
  CHECK(unknown == 1);
  const Recommendations r = Recommender(fx.model, b).for_user("a");
  REQUIRE(r.items.size() == 2);  // v3, v4 only; v2 excluded, v1 not in the list (and seen)
  CHECK(r.items[0].video == 3);
  CHECK(r.items[1].video == 2);
  CHECK_THROWS_AS(Recommender(fx.model, with_k(0)), ConfigError);
}

TEST_CASE("many users give the same results as one by one, in order", "[recommend]") {
  Fixture fx;
  const Recommender rec(fx.model, with_k(3));
  std::vector<std::string_view> ids;
  for (int i = 0; i < 50; ++i) ids.push_back(i % 4 == 0 ? "a" : i % 4 == 1 ? "zz" : i % 4 == 2 ? "b" : "c");
  std::vector<Recommendations> got;
  rec.for_users(ids, 2, [&](const Recommendations& r) { got.push_back(r); });
  REQUIRE(got.size() == ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const Recommendations one = rec.for_user(ids[i]);
    CHECK(got[i].id == ids[i]);
    CHECK(got[i].source == one.source);
    REQUIRE(got[i].items.size() == one.items.size());
    for (size_t j = 0; j < one.items.size(); ++j) CHECK(got[i].items[j].video == one.items[j].video);
  }
}

TEST_CASE("output formats", "[recommend]") {
  Fixture fx;
  const Recommender rec(fx.model, with_k(1));
  const std::vector<Recommendations> rs = {rec.for_user("a"), rec.for_user("x,y")};
  CHECK(render(fx.model, Format::Jsonl, rs, true) ==
        "{\"userId\":\"a\",\"recommendations\":[{\"videoId\":\"v2\",\"score\":0.5}]}\n"
        "{\"userId\":\"x,y\",\"source\":\"popular\",\"recommendations\":[{\"videoId\":\"v2\",\"score\":0."
        "6666667}]}\n");
  CHECK(render(fx.model, Format::Json, rs, true) ==
        "[{\"userId\":\"a\",\"recommendations\":[{\"videoId\":\"v2\",\"score\":0.5}]},"
        "{\"userId\":\"x,y\",\"source\":\"popular\",\"recommendations\":[{\"videoId\":\"v2\",\"score\":0."
        "6666667}]}]\n");
  CHECK(render(fx.model, Format::Csv, rs, true) ==
        "userId,rank,videoId,score,source\na,1,v2,0.5,model\n\"x,y\",1,v2,0.6666667,popular\n");
  CHECK(render(fx.model, Format::Tsv, rs, true) ==
        "userId\trank\tvideoId\tscore\tsource\na\t1\tv2\t0.5\tmodel\nx,y\t1\tv2\t0.6666667\tpopular\n");
  Recommendations quote;
  quote.id = "say \"hi\"";
  CHECK(render(fx.model, Format::Json, {quote}, false) ==
        "{\"userId\":\"say \\\"hi\\\"\",\"recommendations\":[]}\n");
  CHECK_THROWS_AS(parse_format("xml"), ConfigError);
}

TEST_CASE("similar: cosine of the factors, the video itself excluded", "[recommend]") {
  Fixture fx;
  const Recommender rec(fx.model, with_k(3));
  // v4 = (0.25, 0.125), |v4| = 0.2795. cos(v4, v1) = 0.8944, cos(v4, v2) = 0.9487, cos(v4, v3) = 0.4472.
  const std::vector<Scored> s = rec.similar(3);
  REQUIRE(s.size() == 3);
  CHECK(s[0].video == 1);
  CHECK(s[0].score == Approx(0.9486833));
  CHECK(s[1].video == 0);
  CHECK(s[1].score == Approx(0.8944272));
  CHECK(s[2].video == 2);
  CHECK(s[2].score == Approx(0.4472136));
}

TEST_CASE("id lists: CRLF, blanks and padding", "[recommend]") {
  test::TempDir dir;
  test::write_text(dir.file("ids.txt"), "\xEF\xBB\xBFu1\r\n\r\n  u2 \n\tu3");
  CHECK(read_id_list(dir.file("ids.txt")) == std::vector<std::string>{"u1", "u2", "u3"});
  CHECK_THROWS_WITH(read_id_list(dir.file("none.txt")), Catch::Contains("none.txt"));
}

namespace {

// Everything `recommend --all`, an unknown user and `similar` for every video
// print from a model opened header-only, as the commands open it.
std::string answers(const std::vector<char>& bytes, const std::vector<std::string>& users,
                    const std::vector<std::string>& videos) {
  const Model m = Model::from_file(MappedFile::from_bytes("m.vrm", bytes), Model::Verify::Header);
  RecommendOptions opt;
  opt.k = 3;
  opt.threads = 1;
  const Recommender rec(m, opt);
  std::vector<Recommendations> rs;
  for (const std::string& u : users) rs.push_back(rec.for_user(u));
  rs.push_back(rec.for_user("nobody"));
  std::string out = render(m, Format::Jsonl, rs, true);
  for (const std::string& v : videos) {
    const auto i = m.find_video(v);
    if (!i) return out + "lost video " + v;
    for (const Scored& s : rec.similar(*i)) out += std::string(m.video_id(s.video)) + std::to_string(s.score);
  }
  return out;
}

// A random model of n_users x n_videos x f whose big sections span several
// checksum blocks.
std::vector<char> random_model(const test::TempDir& dir, uint32_t n_users, uint32_t n_videos, uint32_t f,
                               std::vector<std::string>& users, std::vector<std::string>& videos) {
  std::mt19937 rng(9);
  DatasetData d;
  for (uint32_t u = 0; u < n_users; ++u) d.user_ids.push_back("user" + std::to_string(100000 + u));
  for (uint32_t v = 0; v < n_videos; ++v) d.video_ids.push_back("video" + std::to_string(100000 + v));
  for (uint32_t u = 0; u < n_users; ++u) {
    for (uint32_t v = 0; v < n_videos; ++v)
      if (rng() % 16 == 0) d.indices.push_back(v);
    d.indptr.push_back(d.indices.size());
  }
  d.indptr.insert(d.indptr.begin(), 0);
  const size_t nnz = d.indices.size();
  d.weights.assign(nnz, 1);
  d.events.assign(nnz, 1);
  d.first_ts.assign(nnz, 0);
  d.last_ts.assign(nnz, 0);
  write_dataset(d, dir.file("r.vrd"));
  std::normal_distribution<float> g;
  std::vector<float> uf(size_t(n_users) * f), vf(size_t(n_videos) * f);
  for (float& x : uf) x = g(rng);
  for (float& x : vf) x = g(rng);
  ModelData md;
  md.factors = f;
  md.user_factors = uf.data();
  md.video_factors = vf.data();
  write_model(Dataset::open(dir.file("r.vrd")), md, dir.file("r.vrm"));
  users = d.user_ids;
  videos = d.video_ids;
  const std::string text = test::read_text(dir.file("r.vrm"));
  return {text.begin(), text.end()};
}

}  // namespace

// The class of defect: a damaged model answered with exit 0. Whatever byte
// is damaged, what the commands print is the undamaged answer or nothing (a
// FormatError), never another answer.
TEST_CASE("a damaged byte anywhere in a model is refused or changes nothing printed", "[recommend]") {
  test::TempDir dir;
  std::vector<std::string> users, videos;
  SECTION("every byte of a small model, two flips each") {
    Fixture f;
    users = {"a", "b", "c"};
    videos = {"v1", "v2", "v3", "v4"};
    const std::string text = test::read_text(f.dir.file("m.vrm"));
    const std::vector<char> good(text.begin(), text.end());
    const std::string expected = answers(good, users, videos);
    size_t refused = 0;
    for (size_t i = 0; i < good.size(); ++i)
      for (const char flip : {char(0x01), char(0x80)}) {
        std::vector<char> bad = good;
        bad[i] ^= flip;
        std::string got;
        try {
          got = answers(bad, users, videos);
        } catch (const FormatError&) {
          ++refused;
          continue;
        }
        REQUIRE(got == expected);  // a byte no answer reads (padding, unused sections)
      }
    CHECK(refused > good.size());  // most flips hit checked bytes
  }
  SECTION("sampled bytes of a model with multi-block sections") {
    const std::vector<char> good = random_model(dir, 2500, 300, 8, users, videos);
    const std::string expected = answers(good, users, videos);
    std::mt19937 rng(4);
    for (int trial = 0; trial < 120; ++trial) {
      std::vector<char> bad = good;
      bad[rng() % bad.size()] ^= char(1 << (rng() % 8));
      std::string got;
      try {
        got = answers(bad, users, videos);
      } catch (const FormatError&) {
        continue;
      }
      REQUIRE(got == expected);
    }
  }
}

TEST_CASE("a model with NaN or infinite factors is refused, and never written", "[recommend]") {
  test::TempDir dir;
  std::vector<std::string> users, videos;
  std::vector<char> good = random_model(dir, 2500, 300, 8, users, videos);
  const ContainerReader r(MappedFile::from_bytes("m.vrm", good), "VRMD", kModelVersion);
  for (const uint32_t tag : {section::kUserFactors, section::kVideoFactors, section::kPanel}) {
    uint64_t at = 0;
    for (const SectionInfo& s : r.sections())
      if (s.tag == tag) at = s.offset + s.size / 2 / 4 * 4;  // a float in the middle
    std::vector<char> bad = good;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(bad.data() + at, &nan, 4);
    fuzz::reseal(bad);  // checksums valid: only the value is wrong
    CHECK_THROWS_WITH(Model::from_file(MappedFile::from_bytes("m.vrm", bad)),
                      Catch::Contains("non-finite") && Catch::Contains(tag_name(tag)));
    CHECK_THROWS_AS(answers(bad, users, videos), FormatError);
  }
  DatasetData d;
  d.user_ids = {"a"};
  d.video_ids = {"v"};
  d.indptr = {0, 1};
  d.indices = {0};
  d.weights = {1};
  d.events = {1};
  d.first_ts = d.last_ts = {0};
  write_dataset(d, dir.file("one.vrd"));
  const std::vector<float> users_f = {1, std::numeric_limits<float>::infinity()}, videos_f = {1, 1};
  ModelData md;
  md.factors = 2;
  md.user_factors = users_f.data();
  md.video_factors = videos_f.data();
  CHECK_THROWS_WITH(write_model(Dataset::open(dir.file("one.vrd")), md, dir.file("nan.vrm")),
                    Catch::Contains("NaN or infinity"));
  CHECK_FALSE(std::filesystem::exists(dir.file("nan.vrm")));
}

TEST_CASE("a version 1 model still reads and answers as it did", "[recommend]") {
  const std::string dir = std::string(VIDREC_TEST_DATA) + "/v1/";
  for (const auto verify : {Model::Verify::Full, Model::Verify::Header}) {
    const Model m = Model::open(dir + "model.vrm", verify);
    CHECK(m.format_version() == 1);
    RecommendOptions opt;
    opt.k = 3;
    const Recommender rec(m, opt);
    std::vector<std::string_view> all;
    for (uint32_t u = 0; u < m.n_users(); ++u) all.push_back(m.user_id(u));
    std::ostringstream out;
    ResultWriter w(out, Format::Csv, ResultWriter::Kind::Recommend, m, true);
    rec.for_users(all, 1, [&](const Recommendations& r) { w.write(r); });
    w.finish();
    CHECK(out.str() == test::read_text(dir + "recommend_all.csv"));
  }
}
