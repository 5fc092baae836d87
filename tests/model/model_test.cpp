// SPDX-License-Identifier: MIT
#include "vidrec/model/model.hpp"

#include <catch2/catch.hpp>
#include <random>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"

using namespace vidrec;

namespace {
// 4 users x 3 videos; popularity by distinct users: v1 3, v2 1, v3 2.
DatasetData small() {
  DatasetData d;
  d.user_ids = {"a", "b", "c", "d"};
  d.video_ids = {"v1", "v2", "v3"};
  d.indptr = {0, 2, 3, 5, 6};
  d.indices = {0, 2, 0, 0, 1, 2};
  d.weights = {1, 2, 3, 1, 1, 5};
  d.events = {1, 1, 1, 1, 1, 1};
  d.first_ts = d.last_ts = {0, 0, 0, 0, 0, 0};
  return d;
}
}  // namespace

TEST_CASE("model round trip: factors, ids, seen videos, popularity", "[model]") {
  test::TempDir dir;
  write_dataset(small(), dir.file("d.vrd"));
  const Dataset ds = Dataset::open(dir.file("d.vrd"));
  const uint32_t f = 3;
  std::vector<float> uf(4 * f), vf(3 * f);
  for (size_t i = 0; i < uf.size(); ++i) uf[i] = float(i) * 0.5f;
  for (size_t i = 0; i < vf.size(); ++i) vf[i] = -float(i);
  ModelData md;
  md.factors = f;
  md.user_factors = uf.data();
  md.video_factors = vf.data();
  md.meta = {{"hyperparameters", {{"factors", f}}}};
  write_model(ds, md, dir.file("m.vrm"));

  const Model m = Model::open(dir.file("m.vrm"));
  CHECK(m.n_users() == 4);
  CHECK(m.n_videos() == 3);
  CHECK(m.factors() == 3);
  CHECK(m.user_vector(2)[1] == uf[2 * f + 1]);
  CHECK(m.video_vector(1)[2] == vf[1 * f + 2]);
  CHECK(m.find_user("c") == 2u);
  CHECK_FALSE(m.find_user("e"));
  CHECK(m.video_id(2) == "v3");
  CHECK(std::vector<uint32_t>(m.seen_begin(2), m.seen_end(2)) == std::vector<uint32_t>{0, 1});
  CHECK(m.seen_total() == 6);
  CHECK(std::vector<uint32_t>(m.popularity(), m.popularity() + 3) == std::vector<uint32_t>{3, 1, 2});
  CHECK(std::vector<uint32_t>(m.popular_order(), m.popular_order() + 3) == std::vector<uint32_t>{0, 2, 1});
  CHECK(m.meta()["hyperparameters"]["factors"] == 3);

  // Same factors -> same factors checksum; different -> different.
  uf[0] = 42;
  write_model(ds, md, dir.file("m2.vrm"));
  CHECK(Model::open(dir.file("m2.vrm")).factors_checksum() != m.factors_checksum());
}

TEST_CASE("damaged model files are refused with the file named", "[model]") {
  test::TempDir dir;
  write_dataset(small(), dir.file("d.vrd"));
  const Dataset ds = Dataset::open(dir.file("d.vrd"));
  std::vector<float> uf(4 * 8, 1.0f), vf(3 * 8, 2.0f);
  ModelData md;
  md.factors = 8;
  md.user_factors = uf.data();
  md.video_factors = vf.data();
  write_model(ds, md, dir.file("m.vrm"));
  const std::string good = test::read_text(dir.file("m.vrm"));

  CHECK_THROWS_WITH(Model::open(dir.file("d.vrd")),
                    Catch::Contains("is a vidrec dataset file, expected a model"));
  test::write_text(dir.file("t.vrm"), good.substr(0, good.size() / 2));
  CHECK_THROWS_WITH(Model::open(dir.file("t.vrm")), Catch::Contains("t.vrm: truncated"));

  // A flipped factor byte: found when checksums are verified, ignored (by
  // design, for fast starts) when they are not.
  const size_t at = good.find(std::string(reinterpret_cast<const char*>(vf.data()), 16));
  REQUIRE(at != std::string::npos);
  std::string flipped = good;
  flipped[at + 1] = char(flipped[at + 1] ^ 0x40);
  test::write_text(dir.file("f.vrm"), flipped);
  CHECK_THROWS_WITH(Model::open(dir.file("f.vrm")), Catch::Contains("checksum mismatch in section VFAC"));
  CHECK_NOTHROW(Model::open(dir.file("f.vrm"), Model::Verify::Header));

  std::mt19937 rng(1);
  for (int i = 0; i < 300; ++i) {
    std::string f = good;
    f[rng() % f.size()] ^= char(1 << (rng() % 8));
    test::write_text(dir.file("r.vrm"), f);
    try {
      Model::open(dir.file("r.vrm"));
    } catch (const FormatError&) {
    }
  }
}
