// SPDX-License-Identifier: MIT
#include "vidrec/model/model.hpp"

#include <catch2/catch.hpp>
#include <random>

#include "location_fixture.hpp"
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

TEST_CASE("popularity and per-location rankings count users with a positive pair", "[model][location]") {
  test::TempDir dir;
  const Model m = Model::open(test::write_location_model(dir));
  // Hand-computed in location_fixture.hpp.
  CHECK(std::vector<uint32_t>(m.popularity(), m.popularity() + 5) == std::vector<uint32_t>{3, 2, 1, 1, 1});
  CHECK(std::vector<uint32_t>(m.popular_order(), m.popular_order() + 5) ==
        std::vector<uint32_t>{0, 1, 2, 3, 4});
  REQUIRE(m.n_locations() == 2);
  CHECK(m.location_id(0) == "DE");
  CHECK(m.find_location("FR") == 1u);
  CHECK_FALSE(m.find_location("US"));
  CHECK_FALSE(m.find_location(""));
  const std::vector<uint32_t> where = {1, 1, 1, 0, kNoLocation, 0, kNoLocation};
  for (uint32_t u = 0; u < 7; ++u) CHECK(m.user_location(u) == where[u]);
  const auto list = [&m](uint32_t l) {
    const LocationPopular p = m.location_popular(l);
    std::vector<std::pair<uint32_t, uint32_t>> out;
    for (uint32_t i = 0; i < p.count; ++i) out.emplace_back(p.videos[i], p.users[i]);
    return std::make_pair(p.location_users, out);
  };
  using Ranked = std::vector<std::pair<uint32_t, uint32_t>>;
  CHECK(list(1) == std::make_pair(3u, Ranked{{1, 2}, {0, 1}, {2, 1}}));  // FR: v2 2, v1 1, v3 1
  CHECK(list(0) == std::make_pair(2u, Ranked{{0, 1}, {3, 1}}));          // DE: v1 1, v4 1
  CHECK_THROWS_AS(m.location_popular(2), std::out_of_range);
  // Seen: every pair, negative ones included.
  CHECK(std::vector<uint32_t>(m.seen_begin(5), m.seen_end(5)) == std::vector<uint32_t>{1});
  CHECK(std::vector<uint32_t>(m.seen_begin(1), m.seen_end(1)) == std::vector<uint32_t>{1, 2});
  for (uint32_t u = 0; u < 7; ++u) CHECK(m.has_profile(u) == (u < 5));
}

// The brute-force reference: per location, count each video's users with a
// positive pair by scanning the whole matrix, then rank.
TEST_CASE("per-location rankings match a brute-force count on random data", "[model][location]") {
  test::TempDir dir;
  std::mt19937 rng(3);
  DatasetData d;
  const uint32_t n_users = 300, n_videos = 40, n_loc = 6;
  for (uint32_t u = 0; u < n_users; ++u) d.user_ids.push_back("u" + std::to_string(1000 + u));
  for (uint32_t v = 0; v < n_videos; ++v) d.video_ids.push_back("v" + std::to_string(100 + v));
  for (uint32_t l = 0; l < n_loc; ++l) d.locations.ids.push_back("L" + std::to_string(l));
  d.indptr = {0};
  for (uint32_t u = 0; u < n_users; ++u) {
    d.locations.of_user.push_back(rng() % 7 == 0 ? kNoLocation : uint32_t(rng() % n_loc));
    for (uint32_t v = 0; v < n_videos; ++v)
      if (rng() % 5 == 0) {
        d.indices.push_back(v);
        d.weights.push_back(float(int(rng() % 5) - 1));  // -1 .. 3: some negative, some zero
      }
    d.indptr.push_back(d.indices.size());
  }
  d.events.assign(d.indices.size(), 1);
  d.first_ts.assign(d.indices.size(), 0);
  d.last_ts.assign(d.indices.size(), 0);
  write_dataset(d, dir.file("d.vrd"));
  const std::vector<float> uf(n_users * 2, 1.0f), vf(n_videos * 2, 1.0f);
  ModelData md;
  md.factors = 2;
  md.user_factors = uf.data();
  md.video_factors = vf.data();
  write_model(Dataset::open(dir.file("d.vrd")), md, dir.file("m.vrm"));
  for (const auto verify : {Model::Verify::Full, Model::Verify::Header}) {
    const Model m = Model::open(dir.file("m.vrm"), verify);
    uint64_t entries = 0;
    for (uint32_t l = 0; l < n_loc; ++l) {
      std::vector<uint32_t> count(n_videos, 0);
      uint32_t users = 0;
      for (uint32_t u = 0; u < n_users; ++u) {
        if (d.locations.of_user[u] != l) continue;
        ++users;
        for (uint64_t k = d.indptr[u]; k < d.indptr[u + 1]; ++k) count[d.indices[k]] += d.weights[k] > 0;
      }
      std::vector<std::pair<uint32_t, uint32_t>> want;  // (video, users), ranked
      for (uint32_t v = 0; v < n_videos; ++v)
        if (count[v]) want.emplace_back(v, count[v]);
      std::sort(want.begin(), want.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
      });
      const LocationPopular p = m.location_popular(l);
      CHECK(p.location_users == users);
      std::vector<std::pair<uint32_t, uint32_t>> got;
      for (uint32_t i = 0; i < p.count; ++i) got.emplace_back(p.videos[i], p.users[i]);
      CHECK(got == want);
      entries += p.count;
    }
    uint64_t positive = 0;
    for (const float w : d.weights) positive += w > 0;
    CHECK(entries <= positive);  // bounded by the pairs, not locations x videos
  }
}

TEST_CASE("models without locations, older ones included, have none", "[model][location]") {
  test::TempDir dir;
  write_dataset(small(), dir.file("d.vrd"));
  std::vector<float> uf(4 * 2, 1.0f), vf(3 * 2, 1.0f);
  uf[2] = uf[3] = 0;  // user b: no profile
  ModelData md;
  md.factors = 2;
  md.user_factors = uf.data();
  md.video_factors = vf.data();
  write_model(Dataset::open(dir.file("d.vrd")), md, dir.file("m.vrm"));
  const ContainerReader r(open_container_file(dir.file("m.vrm")), "VRMD", kModelVersion);
  for (const uint32_t tag : {section::kLocationOff, section::kUserLocation, section::kLocationPtr})
    CHECK_FALSE(r.has(tag));
  for (const std::string& path : {dir.file("m.vrm"), std::string(VIDREC_TEST_DATA) + "/v1/model.vrm"}) {
    INFO(path);
    const Model m = Model::open(path);
    CHECK(m.n_locations() == 0);
    CHECK_FALSE(m.find_location("US"));
    CHECK(m.user_location(0) == kNoLocation);
  }
  const Model m = Model::open(dir.file("m.vrm"), Model::Verify::Header);
  CHECK(m.has_profile(0));
  CHECK_FALSE(m.has_profile(1));
}

// What a reader from before locations reads (the sections it knows) is the
// same as in a model of the same data without them.
TEST_CASE("a model with locations holds a model without them, plus its location sections",
          "[model][location]") {
  test::TempDir dir;
  const std::string with = test::write_location_model(dir);
  DatasetData plain = test::location_dataset();
  plain.locations = {};
  write_dataset(plain, dir.file("plain.vrd"));
  const Model m = Model::open(with);
  ModelData md;
  md.factors = 2;
  md.user_factors = m.user_factors();
  md.video_factors = m.video_factors();
  md.meta = m.meta();
  write_model(Dataset::open(dir.file("plain.vrd")), md, dir.file("plain.vrm"));
  const ContainerReader a(open_container_file(with), "VRMD", kModelVersion);
  const ContainerReader b(open_container_file(dir.file("plain.vrm")), "VRMD", kModelVersion);
  CHECK(a.sections().size() == b.sections().size() + 7);
  for (const SectionInfo& s : b.sections())
    if (s.tag != kBlockSumsTag) CHECK(a.bytes(s.tag) == b.bytes(s.tag));
}
