// SPDX-License-Identifier: MIT
#include "vidrec/inspect/inspect.hpp"

#include <catch2/catch.hpp>

#include "test_util.hpp"
#include "vidrec/dataset/dataset.hpp"
#include "vidrec/model/model.hpp"

using namespace vidrec;

// prepare now rejects ids that are not UTF-8, but files written before, and
// any path, may hold such bytes. JSON must be UTF-8: describing a file must
// not fail on them (nlohmann's dump throws), and the bytes come out as U+FFFD.
TEST_CASE("inspect describes files whose ids and paths are not UTF-8", "[inspect]") {
  test::TempDir dir;
  DatasetData d;
  d.user_ids = {"a", "b\xFF"};
  d.video_ids = {"v1", "v\xC3("};
  d.indptr = {0, 2, 3};
  d.indices = {0, 1, 1};
  d.weights = {1, 2, 3};
  d.events = {1, 1, 1};
  d.first_ts = d.last_ts = {0, 0, 0};
  d.provenance = {{"inputs", {dir.file("log\xFE.csv")}}};
  const std::string dpath = dir.file("d\xFF.vrd"), mpath = dir.file("m\xFF.vrm");
  write_dataset(d, dpath);
  const Dataset ds = Dataset::open(dpath);
  const uint32_t f = 2;
  const std::vector<float> uf(2 * f, 0.5f), vf(2 * f, 0.25f);
  ModelData md;
  md.factors = f;
  md.user_factors = uf.data();
  md.video_factors = vf.data();
  md.meta = {{"dataset", {{"path", dpath}}}};
  write_model(ds, md, mpath);

  for (const std::string& path : {dpath, mpath}) {
    INFO(path);
    const nlohmann::json j = describe_file(path);
    std::string text, json;
    REQUIRE_NOTHROW(text = describe_text(j));
    REQUIRE_NOTHROW(json = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    CHECK(nlohmann::json::parse(json)["kind"] == j["kind"]);
    CHECK(text.find(path) == 0);  // the text names the file as given
  }
  const std::string model_text = describe_text(describe_file(mpath));
  CHECK(model_text.find("v\xEF\xBF\xBD(") != std::string::npos);  // the popular video, bytes replaced
  CHECK(describe_text(describe_file(dpath)).find("log\xEF\xBF\xBD.csv") != std::string::npos);
}
