// SPDX-License-Identifier: MIT
// The popular fallback by location, and users without a profile, on the
// hand-computed case of location_fixture.hpp.
#include <catch2/catch.hpp>
#include <sstream>

#include "fuzz/reseal.hpp"
#include "location_fixture.hpp"
#include "test_util.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/recommend/recommend.hpp"

using namespace vidrec;

namespace {

struct Fixture {
  test::TempDir dir;
  Model model = Model::open(test::write_location_model(dir));
};

RecommendOptions options(uint32_t k, const std::string& location = "") {
  RecommendOptions o;
  o.k = k;
  o.location = location;
  o.threads = 1;
  return o;
}

using Items = std::vector<std::pair<std::string, float>>;
Items items(const Model& m, const Recommendations& r) {
  Items out;
  for (const Scored& s : r.items) out.emplace_back(m.video_id(s.video), s.score);
  return out;
}

std::string json(const Model& m, const Recommendations& r) {
  std::ostringstream out;
  ResultWriter w(out, Format::Json, ResultWriter::Kind::Recommend, m, false);
  w.write(r);
  w.finish();
  return out.str();
}

}  // namespace

TEST_CASE("unknown users get the popular videos of the location asked for", "[recommend][location]") {
  Fixture fx;
  const Model& m = fx.model;
  // DE: v1 (1 of its 2 users), v4 (1 of 2); padded from the global order
  // (v1 taken, then v2, v3), score 0: no user of DE liked them.
  const Recommendations de = Recommender(m, options(4, "DE")).for_user("zz");
  CHECK(de.source == Source::Popular);
  CHECK(de.location == "DE");
  CHECK(items(m, de) == Items{{"v1", 0.5f}, {"v4", 0.5f}, {"v2", 0.0f}, {"v3", 0.0f}});
  CHECK(json(m, de) ==
        "{\"userId\":\"zz\",\"source\":\"popular\",\"location\":\"DE\",\"recommendations\":["
        "{\"videoId\":\"v1\",\"score\":0.5},{\"videoId\":\"v4\",\"score\":0.5},"
        "{\"videoId\":\"v2\",\"score\":0},{\"videoId\":\"v3\",\"score\":0}]}\n");
  // FR: v2 (2 of 3), v1 (1 of 3), v3 (1 of 3); fewer than k: nothing padded.
  const Recommendations fr = Recommender(m, options(2, "FR")).for_user("zz");
  CHECK(items(m, fr) == Items{{"v2", float(2.0 / 3)}, {"v1", float(1.0 / 3)}});
  // An unknown location, or none: the global order, shares of all 7 users, no location marked.
  for (const char* where : {"XX", ""}) {
    const Recommendations g = Recommender(m, options(3, where)).for_user("zz");
    CHECK(g.source == Source::Popular);
    CHECK(g.location.empty());
    CHECK(items(m, g) == Items{{"v1", float(3.0 / 7)}, {"v2", float(2.0 / 7)}, {"v3", float(1.0 / 7)}});
    CHECK(json(m, g).find("location") == std::string::npos);
  }
}

TEST_CASE("padding skips blocked videos and never repeats one", "[recommend][location]") {
  Fixture fx;
  const Model& m = fx.model;
  RecommendOptions o = options(10, "DE");
  const std::vector<std::string> exclude = {"v4", "v3"};
  size_t unknown = 0;
  o.blocked = block_map(m, &exclude, nullptr, unknown);
  const Recommendations r = Recommender(m, o).for_user("zz");
  CHECK(items(m, r) == Items{{"v1", 0.5f}, {"v2", 0.0f}, {"v5", 0.0f}});
}

TEST_CASE("a known user without a profile gets the popular videos, seen ones excluded",
          "[recommend][location]") {
  Fixture fx;
  const Model& m = fx.model;
  // f: no profile, lives in DE, disliked v2 (seen: excluded).
  const Recommendations f = Recommender(m, options(4)).for_user("f");
  CHECK(f.source == Source::Popular);
  CHECK(f.location == "DE");
  CHECK(items(m, f) == Items{{"v1", 0.5f}, {"v4", 0.5f}, {"v3", 0.0f}, {"v5", 0.0f}});
  // A location asked for replaces the stored one: FR's v2 is seen, so v1, v3, then padding.
  const Recommendations fr = Recommender(m, options(3, "FR")).for_user("f");
  CHECK(fr.location == "FR");
  CHECK(items(m, fr) == Items{{"v1", float(1.0 / 3)}, {"v3", float(1.0 / 3)}, {"v4", 0.0f}});
  // An unknown one: the global order, v2 still excluded.
  const Recommendations xx = Recommender(m, options(2, "XX")).for_user("f");
  CHECK(xx.location.empty());
  CHECK(items(m, xx) == Items{{"v1", float(3.0 / 7)}, {"v3", float(1.0 / 7)}});
  // g: no profile, no location, disliked v1: the global order without v1.
  const Recommendations g = Recommender(m, options(2)).for_user("g");
  CHECK(g.source == Source::Popular);
  CHECK(g.location.empty());
  CHECK(items(m, g) == Items{{"v2", float(2.0 / 7)}, {"v3", float(1.0 / 7)}});
  // include_seen keeps what they interacted with.
  RecommendOptions seen = options(1);
  seen.include_seen = true;
  CHECK(items(m, Recommender(m, seen).for_user("g")) == Items{{"v1", float(3.0 / 7)}});
}

TEST_CASE("a user with a profile is scored by the model, whatever the location", "[recommend][location]") {
  Fixture fx;
  const Model& m = fx.model;
  // a = (1, 0): v5 0.75, v4 0.125, v3 0; seen v1, v2.
  const Recommendations a = Recommender(m, options(2, "DE")).for_user("a");
  CHECK(a.source == Source::Model);
  CHECK(a.location.empty());
  CHECK(items(m, a) == Items{{"v5", 0.75f}, {"v4", 0.125f}});
  CHECK(json(m, a).find("source") == std::string::npos);
}

TEST_CASE("many users, location or not, answer what one at a time does", "[recommend][location]") {
  Fixture fx;
  const Model& m = fx.model;
  const std::vector<std::string_view> ids = {"a", "f", "zz", "g", "c", "b", "f", "d", "e", "nobody"};
  for (const char* where : {"", "FR", "XX"}) {
    INFO(where);
    const Recommender rec(m, options(3, where));
    std::vector<Recommendations> got;
    rec.for_users(ids, 2, [&](const Recommendations& r) { got.push_back(r); });
    REQUIRE(got.size() == ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      const Recommendations one = rec.for_user(ids[i]);
      CHECK(got[i].source == one.source);
      CHECK(got[i].location == one.location);
      CHECK(items(m, got[i]) == items(m, one));
    }
  }
}

// As the damage test in recommend_test.cpp, over the location sections: a
// lazy (header-only) open either refuses a damaged byte or prints what the
// undamaged model prints.
TEST_CASE("a damaged byte in a model with locations is refused or changes nothing", "[recommend][location]") {
  test::TempDir dir;
  const std::string text = test::read_text(test::write_location_model(dir));
  const std::vector<char> good(text.begin(), text.end());
  const auto answers = [](const std::vector<char>& bytes) {
    const Model m = Model::from_file(MappedFile::from_bytes("m.vrm", bytes), Model::Verify::Header);
    std::string out;
    for (const char* where : {"", "DE", "FR", "XX"}) {
      const Recommender rec(m, options(4, where));
      for (const char* user : {"a", "f", "g", "zz"}) out += json(m, rec.for_user(user));
    }
    return out;
  };
  const std::string expected = answers(good);
  size_t refused = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    std::vector<char> bad = good;
    bad[i] ^= char(0x10);
    std::string got;
    try {
      got = answers(bad);
    } catch (const FormatError&) {
      ++refused;
      continue;
    }
    REQUIRE(got == expected);
  }
  CHECK(refused > good.size() / 2);
  // Sealed, but a ranked video out of range: refused, not read past the catalogue.
  {
    const ContainerReader r(MappedFile::from_bytes("m.vrm", good), "VRMD", kModelVersion);
    std::vector<char> bad = good;
    for (const SectionInfo& s : r.sections())
      if (s.tag == section::kLocationVideos) bad[s.offset] = 9;
    fuzz::reseal(bad);
    CHECK_THROWS_WITH(answers(bad), Catch::Contains("location ranking video out of range"));
    CHECK_THROWS_WITH(Model::from_file(MappedFile::from_bytes("m.vrm", bad)),
                      Catch::Contains("location ranking video out of range"));
  }
}
