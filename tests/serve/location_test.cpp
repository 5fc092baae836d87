// SPDX-License-Identifier: MIT
// /invocations with "location", and users without a profile, on the
// hand-computed case of location_fixture.hpp.
#include <catch2/catch.hpp>
#include <sstream>

#include "location_fixture.hpp"
#include "test_util.hpp"
#include "vidrec/recommend/recommend.hpp"
#include "vidrec/serve/api.hpp"

using namespace vidrec;

namespace {

struct Fixture {
  test::TempDir dir;
  ModelSlot slot;
  Metrics metrics;
  Api api{slot, metrics};
  Fixture() { slot.set(ServingModel::load(test::write_location_model(dir))); }
  HttpReply post(std::string_view body) {
    return api.handle({"POST", "/invocations", "application/json", body});
  }
};

std::vector<std::string> videos_of(const nlohmann::json& j) {
  std::vector<std::string> out;
  for (const auto& r : j["recommendations"]) out.push_back(r["videoId"].get<std::string>());
  return out;
}

}  // namespace

TEST_CASE("serve: location picks the popular videos of users without a profile", "[serve][location]") {
  Fixture f;
  const Model& m = f.slot.get()->model();
  // The bytes `recommend --location DE` prints.
  std::ostringstream expected;
  RecommendOptions o;
  o.k = 4;
  o.location = "DE";
  ResultWriter w(expected, Format::Json, ResultWriter::Kind::Recommend, m, false);
  w.write(Recommender(m, o).for_user("zz"));
  w.finish();
  const HttpReply r = f.post(R"({"user_id":"zz","k":4,"location":"DE"})");
  CHECK(r.status == 200);
  CHECK(r.body == expected.str());
  CHECK(r.body.find(R"("source":"popular","location":"DE")") != std::string::npos);

  const HttpReply batch =
      f.post(R"({"instances":[{"user_id":"zz","k":2,"location":"FR"},{"user_id":"f","k":4},
      {"user_id":"a","k":2,"location":"DE"},{"user_id":"g","k":2,"location":""},{"user_id":"zz","k":1,"location":"XX"}]})");
  REQUIRE(batch.status == 200);
  const auto p = nlohmann::json::parse(batch.body)["predictions"];
  REQUIRE(p.size() == 5);
  CHECK(p[0]["location"] == "FR");
  CHECK(videos_of(p[0]) == std::vector<std::string>{"v2", "v1"});
  // f: no profile, stored location DE, v2 (disliked) excluded.
  CHECK(p[1]["source"] == "popular");
  CHECK(p[1]["location"] == "DE");
  CHECK(videos_of(p[1]) == std::vector<std::string>{"v1", "v4", "v3", "v5"});
  // a: a profile; the location is ignored.
  CHECK_FALSE(p[2].contains("source"));
  CHECK_FALSE(p[2].contains("location"));
  CHECK(videos_of(p[2]) == std::vector<std::string>{"v5", "v4"});
  // g: no profile, no location (an empty one is none): global order, v1 (disliked) excluded.
  CHECK(p[3]["source"] == "popular");
  CHECK_FALSE(p[3].contains("location"));
  CHECK(videos_of(p[3]) == std::vector<std::string>{"v2", "v3"});
  // An unknown location: global, unmarked.
  CHECK_FALSE(p[4].contains("location"));
  CHECK(videos_of(p[4]) == std::vector<std::string>{"v1"});
}

TEST_CASE("serve: a history gives a user without a profile one", "[serve][location]") {
  Fixture f;
  // f's own history is a dislike: still no profile.
  const auto none =
      nlohmann::json::parse(f.post(R"({"user_id":"f","k":2,"history":[{"videoId":"v2","value":-2}]})").body);
  CHECK(none["source"] == "popular");
  CHECK(none["location"] == "DE");
  // A positive value: folded in, scored by the model, history and training videos excluded.
  const auto folded = nlohmann::json::parse(
      f.post(R"({"user_id":"f","k":2,"location":"DE","history":[{"videoId":"v5","value":3}]})").body);
  CHECK_FALSE(folded.contains("source"));
  CHECK_FALSE(folded.contains("location"));
  for (const auto& v : videos_of(folded)) CHECK((v != "v5" && v != "v2"));
}

TEST_CASE("serve: hostile locations are refused with 400 naming the field", "[serve][location]") {
  Fixture f;
  for (const std::string& body : std::vector<std::string>{
           R"({"user_id":"zz","location":7})", R"({"user_id":"zz","location":["DE"]})",
           R"({"user_id":"zz","location":{"DE":1}})", R"({"user_id":"zz","location":null})",
           R"({"user_id":"zz","location":")" + std::string(257, 'x') + "\"}",
           R"({"instances":[{"user_id":"zz"},{"user_id":"zz","location":false}]})"}) {
    INFO(body.substr(0, 80));
    const HttpReply r = f.post(body);
    CHECK(r.status == 400);
    const std::string error = nlohmann::json::parse(r.body)["error"];
    CHECK_THAT(error, Catch::Contains("location must be a string of at most 256 bytes"));
    CHECK(error.size() < 200);  // a huge value is not echoed
  }
  CHECK_THAT(f.post(R"({"instances":[{"user_id":"zz"},{"user_id":"zz","location":1}]})").body,
             Catch::Contains("instances[1].location"));
  // Not UTF-8, raw or as a lone surrogate: refused by the JSON parser.
  for (const std::string& body : {std::string(R"({"user_id":"zz","location":")") + "\xff\xfe" + "\"}",
                                  std::string(R"({"user_id":"zz","location":"\udc00"})")}) {
    const HttpReply r = f.post(body);
    CHECK(r.status == 400);
    CHECK_THAT(r.body, Catch::Contains("malformed JSON"));
  }
  CHECK(f.post(R"({"user_id":"zz","location":")" + std::string(256, 'x') + "\"}").status == 200);
}
