// SPDX-License-Identifier: MIT
#include "vidrec/serve/serving_model.hpp"

#include <catch2/catch.hpp>
#include <filesystem>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/serve/api.hpp"

using namespace vidrec;

namespace {

// 40 users x 30 videos x 4 factors, each user with a few videos.
std::string small_model(const test::TempDir& dir) {
  DatasetData d;
  for (int u = 0; u < 40; ++u) d.user_ids.push_back("u" + std::to_string(100 + u));
  for (int v = 0; v < 30; ++v) d.video_ids.push_back("v" + std::to_string(100 + v));
  d.indptr = {0};
  for (uint32_t u = 0; u < 40; ++u) {
    for (uint32_t v = u % 7; v < 30; v += 7) d.indices.push_back(v);
    d.indptr.push_back(d.indices.size());
  }
  const size_t nnz = d.indices.size();
  d.weights.assign(nnz, 1);
  d.events.assign(nnz, 1);
  d.first_ts.assign(nnz, 0);
  d.last_ts.assign(nnz, 0);
  write_dataset(d, dir.file("d.vrd"));
  std::vector<float> uf(40 * 4), vf(30 * 4);
  for (size_t i = 0; i < uf.size(); ++i) uf[i] = float(i % 11) / 11.0f - 0.4f;
  for (size_t i = 0; i < vf.size(); ++i) vf[i] = float(i % 13) / 13.0f - 0.5f;
  ModelData md;
  md.factors = 4;
  md.user_factors = uf.data();
  md.video_factors = vf.data();
  write_model(Dataset::open(dir.file("d.vrd")), md, dir.file("m.vrm"));
  return dir.file("m.vrm");
}

}  // namespace

TEST_CASE("serve: a model truncated or rewritten in place on disk is still served, whole", "[serve]") {
  test::TempDir dir;
  const std::string path = small_model(dir);
  const std::string model_bytes = test::read_text(path);
  ModelSlot slot;
  Metrics metrics;
  const Api api{slot, metrics};
  slot.set(ServingModel::load(path));
  const std::string request = R"({"user_id":"u107","k":5})", history = R"({"user_id":"x","history":[{"videoId":"v103"}]})";
  const HttpReply before = api.handle({"POST", "/invocations", "application/json", request});
  const HttpReply before_h = api.handle({"POST", "/invocations", "application/json", history});
  REQUIRE(before.status == 200);
  REQUIRE(before_h.status == 200);
  auto same_answers = [&] {
    CHECK(api.handle({"POST", "/invocations", "application/json", request}).body == before.body);
    CHECK(api.handle({"POST", "/invocations", "application/json", history}).body == before_h.body);
  };
  std::filesystem::resize_file(path, 0);  // a served mapping would fault here (SIGBUS)
  same_answers();
  CHECK_THROWS_AS(ServingModel::load(path), FormatError);  // and the empty file is not loaded
  test::write_text(path, model_bytes.substr(0, model_bytes.size() / 2));  // cut short, same inode
  same_answers();
  CHECK_THROWS_AS(ServingModel::load(path), FormatError);
  test::write_text(path, std::string(model_bytes.size(), '\0'));  // zeroed in place
  same_answers();
  CHECK_THROWS_AS(ServingModel::load(path), FormatError);
  test::write_text(path, model_bytes);
  CHECK_NOTHROW(ServingModel::load(path));
  CHECK_THROWS_WITH(ServingModel::load("/dev/zero"), Catch::Contains("not a regular file"));
}
