// SPDX-License-Identifier: MIT
// The ANN index (model/ann.hpp, model/indexing.hpp) and its use
// (recommend/approximate.hpp) against brute force: the exact kernel.
#include "vidrec/recommend/approximate.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <random>

#include "fuzz/reseal.hpp"
#include "test_util.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/model/indexing.hpp"
#include "vidrec/recommend/recommend.hpp"

using namespace vidrec;

namespace {

constexpr uint32_t kUsers = 150, kVideos = 1500, kFactors = 16;

// A random model (about 1/16 of the pairs seen), written with and without
// the index: m.vrm and plain.vrm.
struct IndexedModel {
  test::TempDir dir;
  IndexedModel() {
    std::mt19937 rng(5);
    DatasetData d;
    for (uint32_t u = 0; u < kUsers; ++u) d.user_ids.push_back("u" + std::to_string(1000 + u));
    for (uint32_t v = 0; v < kVideos; ++v) d.video_ids.push_back("v" + std::to_string(10000 + v));
    d.indptr.push_back(0);
    for (uint32_t u = 0; u < kUsers; ++u) {
      for (uint32_t v = 0; v < kVideos; ++v) {
        if (rng() % 16 != 0) continue;
        d.indices.push_back(v);  // one event of weight 1 at time 0
        d.weights.push_back(1);
        d.events.push_back(1);
        d.first_ts.push_back(0);
        d.last_ts.push_back(0);
      }
      d.indptr.push_back(d.indices.size());
    }
    write_dataset(d, dir.file("d.vrd"));
    // Norms spread as implicit-feedback factors' are (long-tailed), so the
    // inner product and the cosine rank differently.
    std::normal_distribution<float> g;
    std::vector<float> uf(size_t(kUsers) * kFactors), vf(size_t(kVideos) * kFactors);
    for (float& x : uf) x = g(rng);
    for (uint32_t v = 0; v < kVideos; ++v) {
      const float scale = 0.2f + 3.0f * float(rng() % 1000) / 1000.0f;
      for (uint32_t k = 0; k < kFactors; ++k) vf[size_t(v) * kFactors + k] = g(rng) * scale;
    }
    ModelData md;
    md.factors = kFactors;
    md.user_factors = uf.data();
    md.video_factors = vf.data();
    write_model(Dataset::open(dir.file("d.vrd")), md, dir.file("plain.vrm"));
    AnnParams p;
    p.threads = 1;
    AnnIndex index = build_index(vf.data(), kFactors, kVideos, p, false);
    md.extra = std::move(index.sections);
    md.meta["ann"] = index.meta;
    write_model(Dataset::open(dir.file("d.vrd")), md, dir.file("m.vrm"));
  }
};

RecommendOptions options(uint32_t k, bool exact, uint32_t ef = 0) {
  RecommendOptions o;
  o.k = k;
  o.exact = exact;
  o.ef = ef;
  return o;
}

bool same(const std::vector<Scored>& a, const std::vector<Scored>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].video != b[i].video || a[i].score != b[i].score) return false;
  return true;
}

// The file's section `tag`: (offset, size).
std::pair<uint64_t, uint64_t> section_of(const std::string& file, uint32_t tag) {
  uint32_t count;
  std::memcpy(&count, file.data() + 12, 4);
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t t;
    uint64_t offset, size;
    std::memcpy(&t, file.data() + 64 + 32 * i, 4);
    std::memcpy(&offset, file.data() + 64 + 32 * i + 8, 8);
    std::memcpy(&size, file.data() + 64 + 32 * i + 16, 8);
    if (t == tag) return {offset, size};
  }
  FAIL("no such section");
  return {0, 0};
}

}  // namespace

TEST_CASE("the index's answers match brute force: high recall, identical when ef >= n", "[ann]") {
  IndexedModel f;
  const Model m = Model::open(f.dir.file("m.vrm"));
  REQUIRE(m.ann(AnnSpace::InnerProduct) != nullptr);
  REQUIRE(m.ann(AnnSpace::Cosine) != nullptr);
  const Recommender exact(m, options(10, true)), approx(m, options(10, false)),
      full(m, options(10, false, kVideos));
  size_t hits = 0, total = 0;
  for (uint32_t u = 0; u < kUsers; ++u) {
    const std::string id(m.user_id(u));
    const Recommendations e = exact.for_user(id), a = approx.for_user(id), x = full.for_user(id);
    REQUIRE(e.items.size() == 10);
    REQUIRE(a.items.size() == 10);
    CHECK(same(x.items, e.items));
    for (const Scored& s : a.items) {
      CHECK_FALSE(std::binary_search(m.seen_begin(u), m.seen_end(u), s.video));
      for (const Scored& t : e.items) hits += s.video == t.video;
    }
    total += e.items.size();
  }
  CHECK(double(hits) / double(total) >= 0.95);
  // Similar: cosine through the other graph.
  size_t similar_hits = 0;
  for (uint32_t v = 0; v < kVideos; v += 15) {
    const std::vector<Scored> e = exact.similar(v), a = approx.similar(v), x = full.similar(v);
    CHECK(same(x, e));
    for (const Scored& s : a) {
      CHECK(s.video != v);
      for (const Scored& t : e) similar_hits += s.video == t.video;
    }
  }
  CHECK(double(similar_hits) / (10.0 * kVideos / 15) >= 0.95);
}

TEST_CASE("exclusions are honoured during the search, and too few candidates fall back to exact", "[ann]") {
  IndexedModel f;
  const Model m = Model::open(f.dir.file("m.vrm"));
  SECTION("half the catalogue excluded: the answers match the exact ones at ef >= n") {
    RecommendOptions o = options(20, false, kVideos);
    o.blocked.assign(kVideos, 0);
    for (uint32_t v = 0; v < kVideos; v += 2) o.blocked[v] = 1;
    RecommendOptions e = o;
    e.exact = true;
    const Recommender approx(m, o), exact(m, e);
    for (uint32_t u = 0; u < kUsers; u += 7) {
      const std::string id(m.user_id(u));
      const Recommendations a = approx.for_user(id);
      REQUIRE(a.items.size() == 20);
      for (const Scored& s : a.items) CHECK(s.video % 2 == 1);
      CHECK(same(a.items, exact.for_user(id).items));
    }
  }
  SECTION("an --only list shorter than k: every listed video, as exact scoring gives them") {
    RecommendOptions o = options(10, false);
    o.blocked.assign(kVideos, 1);
    for (const uint32_t v : {3u, 500u, 1499u}) o.blocked[v] = 0;
    RecommendOptions e = o;
    e.exact = true;
    const Recommender approx(m, o), exact(m, e);
    std::vector<Scored> direct;
    Exclusion ex;
    ex.blocked = o.blocked.data();
    CHECK_FALSE(approximate_top_k(m, AnnSpace::InnerProduct, m.user_vector(0), ex, 10, 0, direct));
    for (uint32_t u = 0; u < kUsers; u += 11) {
      const std::string id(m.user_id(u));
      const Recommendations a = approx.for_user(id);
      CHECK(same(a.items, exact.for_user(id).items));
      CHECK(a.items.size() <= 3);
    }
  }
  SECTION("several users at once give what one at a time gives") {
    const Recommender approx(m, options(10, false));
    std::vector<std::string_view> ids;
    for (uint32_t u = 0; u < kUsers; ++u) ids.push_back(m.user_id(u));
    size_t i = 0;
    approx.for_users(
        ids, 2, [&](const Recommendations& r) { CHECK(same(r.items, approx.for_user(ids[i++]).items)); });
    CHECK(i == ids.size());
  }
}

TEST_CASE("a model without an index answers as before; one with a damaged index is refused", "[ann]") {
  IndexedModel f;
  const Model plain = Model::open(f.dir.file("plain.vrm")), indexed = Model::open(f.dir.file("m.vrm"));
  CHECK(plain.ann(AnnSpace::InnerProduct) == nullptr);
  CHECK(plain.ann(AnnSpace::Cosine) == nullptr);
  std::vector<Scored> out;
  CHECK_FALSE(
      approximate_top_k(plain, AnnSpace::InnerProduct, plain.user_vector(0), Exclusion{}, 10, 0, out));
  const Recommender a(plain, options(10, false)), b(indexed, options(10, true));
  for (uint32_t u = 0; u < kUsers; u += 5)
    CHECK(same(a.for_user(std::string(plain.user_id(u))).items,
               b.for_user(std::string(plain.user_id(u))).items));

  const std::string good = test::read_text(f.dir.file("m.vrm"));
  for (const uint32_t tag : {section::kAnnInnerProduct, section::kAnnCosine}) {
    const auto [offset, size] = section_of(good, tag);
    SECTION("a flipped byte: the checksum refuses it, whatever the verification " + tag_name(tag)) {
      for (const uint64_t at : {offset, offset + size / 2, offset + size - 1}) {
        std::string bad = good;
        bad[at] ^= 0x10;
        test::write_text(f.dir.file("bad.vrm"), bad);
        CHECK_THROWS_AS(Model::open(f.dir.file("bad.vrm"), Model::Verify::Full), FormatError);
        CHECK_THROWS_AS(Model::open(f.dir.file("bad.vrm"), Model::Verify::Header), FormatError);
      }
    }
    SECTION("hostile but sealed: a link out of range, a wrong count, a truncated graph " + tag_name(tag)) {
      const uint64_t level0 = offset + (8 + kVideos + 1) * 8;  // header, upper pointers
      for (int kind = 0; kind < 3; ++kind) {
        std::vector<char> bad(good.begin(), good.end());
        const uint32_t huge = 0xfffffff0u;
        if (kind == 0) std::memcpy(&bad[level0 + 4], &huge, 4);   // video 0's first link
        if (kind == 1) std::memcpy(&bad[level0], &huge, 4);       // video 0's link count
        if (kind == 2) std::memcpy(&bad[offset + 16], &huge, 4);  // the header's video count
        fuzz::reseal(bad);
        test::write_text(f.dir.file("bad.vrm"), std::string(bad.begin(), bad.end()));
        CHECK_THROWS_AS(Model::open(f.dir.file("bad.vrm")), FormatError);
      }
    }
  }
}

TEST_CASE("a single-threaded build is reproducible; vidrec index's rewrite keeps the model", "[ann]") {
  IndexedModel f;
  const Model plain = Model::open(f.dir.file("plain.vrm"));
  AnnParams p;
  p.threads = 1;
  const std::string a = build_ann(plain.video_factors(), kFactors, kVideos, AnnSpace::InnerProduct, p);
  const std::string b = build_ann(plain.video_factors(), kFactors, kVideos, AnnSpace::InnerProduct, p);
  CHECK(a == b);
  p.threads = 2;
  const nlohmann::json meta = index_model(f.dir.file("plain.vrm"), f.dir.file("re.vrm"), p, false);
  CHECK(meta["m"] == 16);
  CHECK(meta["deterministic"] == false);
  const Model re = Model::open(f.dir.file("re.vrm"));
  CHECK(re.ann(AnnSpace::InnerProduct) != nullptr);
  CHECK(re.factors_checksum() == plain.factors_checksum());
  CHECK(re.meta()["ann"]["bytes"].get<uint64_t>() > 0);
  // Indexing again replaces the index rather than adding a second one.
  auto sections = [](const std::string& path) {
    uint32_t count;
    std::memcpy(&count, test::read_text(path).data() + 12, 4);
    return count;
  };
  CHECK(sections(f.dir.file("re.vrm")) == sections(f.dir.file("plain.vrm")) + 2);
  index_model(f.dir.file("re.vrm"), f.dir.file("re.vrm"), p, false);
  const Model again = Model::open(f.dir.file("re.vrm"));
  CHECK(again.ann(AnnSpace::Cosine) != nullptr);
  CHECK(sections(f.dir.file("re.vrm")) == sections(f.dir.file("plain.vrm")) + 2);
  p.m = 1;
  CHECK_THROWS_AS(index_model(f.dir.file("plain.vrm"), f.dir.file("x.vrm"), p, false), ConfigError);
}
