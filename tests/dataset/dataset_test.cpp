// SPDX-License-Identifier: MIT
#include "vidrec/dataset/dataset.hpp"

#include <catch2/catch.hpp>
#include <random>
#include <set>

#include "fuzz/reseal.hpp"
#include "test_util.hpp"
#include "vidrec/base/errors.hpp"

using namespace vidrec;

namespace {
DatasetData random_dataset(uint32_t users, uint32_t videos, double density, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> p(0, 1);
  DatasetData d;
  for (uint32_t u = 0; u < users; ++u) d.user_ids.push_back("user" + std::to_string(1000 + u));
  for (uint32_t v = 0; v < videos; ++v) d.video_ids.push_back("vid" + std::to_string(1000 + v));
  d.indptr.push_back(0);
  for (uint32_t u = 0; u < users; ++u) {
    for (uint32_t v = 0; v < videos; ++v)
      if (p(rng) < density) {
        d.indices.push_back(v);
        d.weights.push_back(float(1 + rng() % 5));
        d.events.push_back(1 + rng() % 3);
        d.first_ts.push_back(int64_t(rng() % 1000));
        d.last_ts.push_back(d.first_ts.back() + int64_t(rng() % 1000));
      }
    d.indptr.push_back(d.indices.size());
  }
  d.provenance = {{"note", "test"}};
  return d;
}
}  // namespace

TEST_CASE("dataset round trip, transpose against brute force", "[dataset]") {
  test::TempDir dir;
  const DatasetData d = random_dataset(40, 25, 0.2, 1);
  write_dataset(d, dir.file("d.vrd"));
  const Dataset ds = Dataset::open(dir.file("d.vrd"));
  REQUIRE(ds.n_users() == 40);
  REQUIRE(ds.n_videos() == 25);
  REQUIRE(ds.nnz() == d.indices.size());
  CHECK(ds.user_id(3) == "user1003");
  CHECK(ds.video_id(24) == "vid1024");
  CHECK(ds.provenance()["note"] == "test");
  const CsrView rows = ds.user_items(), cols = ds.item_users();
  for (uint64_t k = 0; k < ds.nnz(); ++k) {
    CHECK(rows.indices[k] == d.indices[k]);
    CHECK(ds.events()[k] == d.events[k]);
    CHECK(ds.last_ts()[k] == d.last_ts[k]);
  }
  // Dense comparison of the two views.
  std::vector<float> a(40 * 25, 0), b(40 * 25, 0);
  for (uint32_t u = 0; u < rows.rows; ++u)
    for (uint64_t k = rows.row_begin(u); k < rows.row_end(u); ++k)
      a[u * 25 + rows.indices[k]] = rows.values[k];
  for (uint32_t v = 0; v < cols.rows; ++v)
    for (uint64_t k = cols.row_begin(v); k < cols.row_end(v); ++k)
      b[cols.indices[k] * 25 + v] = cols.values[k];
  CHECK(a == b);
}

TEST_CASE("a dataset streamed in blocks is the file written whole", "[dataset]") {
  test::TempDir dir;
  const DatasetData d = random_dataset(60, 30, 0.3, 6);
  const uint64_t want = write_dataset(d, dir.file("whole.vrd"));
  std::vector<uint64_t> video_counts(30);
  for (const uint32_t v : d.indices) ++video_counts[v];
  std::mt19937 rng(2);
  for (const std::string out : {"a.vrd", "b.vrd"}) {
    DatasetWriter w(dir.file(out), d.user_ids, d.video_ids, d.indptr, video_counts, d.provenance);
    for (size_t k = 0; k < d.indices.size();) {  // blocks end anywhere, rows straddle them
      const size_t n = std::min<size_t>(d.indices.size() - k, rng() % 50);
      w.append({d.indices.data() + k, d.weights.data() + k, d.events.data() + k, d.first_ts.data() + k,
                d.last_ts.data() + k, n});
      k += n;
    }
    CHECK(w.commit() == want);
    CHECK(test::read_text(dir.file(out)) == test::read_text(dir.file("whole.vrd")));
  }
}

TEST_CASE("a dataset writer refuses entries that disagree with its counts, and writes nothing", "[dataset]") {
  test::TempDir dir;
  const DatasetData d = random_dataset(20, 10, 0.4, 7);
  std::vector<uint64_t> counts(10);
  for (const uint32_t v : d.indices) ++counts[v];
  const EntryBlock all{d.indices.data(),  d.weights.data(), d.events.data(),
                       d.first_ts.data(), d.last_ts.data(), d.indices.size()};
  const std::string path = dir.file("d.vrd");
  std::vector<uint64_t> short_counts = counts;
  short_counts[d.indices[0]] -= 1;
  ++short_counts[(d.indices[0] + 1) % 10];  // same total, wrong per video
  CHECK_THROWS_AS(
      DatasetWriter(path, d.user_ids, d.video_ids, d.indptr, std::vector<uint64_t>(9), d.provenance),
      std::logic_error);
  {
    DatasetWriter w(path, d.user_ids, d.video_ids, d.indptr, short_counts, d.provenance);
    CHECK_THROWS_WITH(w.append(all), Catch::Contains("video's count"));
  }
  {
    DatasetWriter w(path, d.user_ids, d.video_ids, d.indptr, counts, d.provenance);
    w.append({all.indices, all.weights, all.events, all.first_ts, all.last_ts, all.size - 1});
    CHECK_THROWS_WITH(w.commit(), Catch::Contains("fewer entries"));
    CHECK_THROWS_WITH(w.append({all.indices, all.weights, all.events, all.first_ts, all.last_ts, 2}),
                      Catch::Contains("more entries"));
  }
  CHECK(dir.count() == 0);
}

TEST_CASE("ids are found by binary search", "[dataset]") {
  test::TempDir dir;
  write_dataset(random_dataset(100, 10, 0.5, 2), dir.file("d.vrd"));
  const Dataset ds = Dataset::open(dir.file("d.vrd"));
  for (uint32_t u = 0; u < 100; ++u) CHECK(ds.find_user(ds.user_id(u)) == u);
  CHECK_FALSE(ds.find_user("user0999"));
  CHECK_FALSE(ds.find_user("zzz"));
  CHECK_FALSE(ds.find_user(""));
  CHECK(ds.find_video("vid1009") == 9u);
}

TEST_CASE("the hash index answers what binary search answers", "[dataset]") {
  test::TempDir dir;
  DatasetData d = random_dataset(3000, 10, 0.01, 5);
  // Ids that collide in length and prefix, the empty id and one with a NUL.
  d.user_ids[0] = "";
  d.user_ids[1] = std::string("a\0b", 3);
  std::sort(d.user_ids.begin(), d.user_ids.end());
  write_dataset(d, dir.file("d.vrd"));
  const Dataset ds = Dataset::open(dir.file("d.vrd"));
  const IdIndex index(ds.user_table());
  for (uint32_t u = 0; u < ds.n_users(); ++u) {
    const std::string id(ds.user_id(u));
    CHECK(index.find(id) == u);
    for (const std::string& probe : {id + "x", id.substr(0, id.size() / 2), "z" + id})
      CHECK(index.find(probe) == ds.find_user(probe));
  }
  CHECK(IdIndex().find("user0001") == std::nullopt);
}

TEST_CASE("content checksum ignores provenance only", "[dataset]") {
  test::TempDir dir;
  DatasetData d = random_dataset(10, 10, 0.3, 3);
  write_dataset(d, dir.file("a.vrd"));
  d.provenance = {{"inputs", {"-"}}};
  write_dataset(d, dir.file("b.vrd"));
  d.weights[0] += 1;
  write_dataset(d, dir.file("c.vrd"));
  const uint64_t a = Dataset::open(dir.file("a.vrd")).content_checksum();
  CHECK(a == Dataset::open(dir.file("b.vrd")).content_checksum());
  CHECK(a != Dataset::open(dir.file("c.vrd")).content_checksum());
}

TEST_CASE("structurally invalid data is refused even with valid checksums", "[dataset]") {
  test::TempDir dir;
  DatasetData d = random_dataset(5, 5, 0.6, 4);
  REQUIRE(d.indptr[1] >= 2);
  std::swap(d.indices[0], d.indices[1]);  // row no longer ascending
  write_dataset(d, dir.file("bad.vrd"));
  CHECK_THROWS_WITH(Dataset::open(dir.file("bad.vrd")), Catch::Contains("not ascending"));

  DatasetData e = random_dataset(5, 5, 0.6, 4);
  std::swap(e.user_ids[0], e.user_ids[1]);
  write_dataset(e, dir.file("ids.vrd"));
  CHECK_THROWS_WITH(Dataset::open(dir.file("ids.vrd")),
                    Catch::Contains("ids") && Catch::Contains("ascending"));
}

TEST_CASE("truncated and bit-flipped dataset files are refused", "[dataset]") {
  test::TempDir dir;
  write_dataset(random_dataset(30, 30, 0.3, 5), dir.file("d.vrd"));
  const std::string good = test::read_text(dir.file("d.vrd"));
  std::mt19937 rng(9);
  int refused = 0;
  for (int i = 0; i < 200; ++i) {
    std::string f = good;
    const size_t at = rng() % f.size();
    f[at] = char(f[at] ^ (1 << (rng() % 8)));
    test::write_text(dir.file("f.vrd"), f);
    try {
      Dataset::open(dir.file("f.vrd"));
    } catch (const FormatError& e) {
      ++refused;
      CHECK(std::string(e.what()).find("f.vrd") != std::string::npos);
    }
  }
  CHECK(refused >= 180);  // the rest landed in alignment padding
  test::write_text(dir.file("t.vrd"), good.substr(0, good.size() - 100));
  CHECK_THROWS_WITH(Dataset::open(dir.file("t.vrd")), Catch::Contains("truncated"));
}

TEST_CASE("a lazy open checks only the rows a reader asks for", "[dataset]") {
  test::TempDir dir;
  const DatasetData d = random_dataset(400, 200, 0.5, 6);  // entries over several checksum blocks
  write_dataset(d, dir.file("d.vrd"));
  std::string bytes = test::read_text(dir.file("d.vrd"));
  uint64_t at = 0;
  {
    const ContainerReader r(open_container_file(dir.file("d.vrd")), "VRDS", kDatasetVersion);
    for (const SectionInfo& s : r.sections())
      if (s.tag == make_tag("RIDX")) at = s.offset + s.size - 1;  // the last user's last entry
  }
  REQUIRE(at > 0);
  bytes[at] = char(bytes[at] ^ 0x40);
  test::write_text(dir.file("d.vrd"), bytes);

  CHECK_THROWS_AS(Dataset::open(dir.file("d.vrd")), FormatError);
  const Dataset lazy = Dataset::open(dir.file("d.vrd"), Dataset::Verify::Lazy);
  CHECK(lazy.n_users() == 400);
  CHECK_NOTHROW(lazy.check_rows(false, 0, 100));
  CHECK_NOTHROW(lazy.check_rows(true, 0, 200));  // the transpose is intact
  CHECK_THROWS_WITH(lazy.check_rows(false, 300, 400), Catch::Contains("d.vrd"));
  CHECK_THROWS_AS(lazy.check_rows(false, 0, 401), std::invalid_argument);

  // Valid checksums, broken structure: found in the rows asked for.
  DatasetData e = random_dataset(5, 5, 0.6, 4);
  std::swap(e.indices[0], e.indices[1]);
  write_dataset(e, dir.file("bad.vrd"));
  const Dataset bad = Dataset::open(dir.file("bad.vrd"), Dataset::Verify::Lazy);
  CHECK_NOTHROW(bad.check_rows(false, 1, 5));
  CHECK_THROWS_WITH(bad.check_rows(false, 0, 1), Catch::Contains("not ascending"));
}

TEST_CASE("users' locations round trip, in optional sections", "[dataset][location]") {
  test::TempDir dir;
  DatasetData d = random_dataset(30, 10, 0.3, 8);
  write_dataset(d, dir.file("plain.vrd"));
  d.locations.ids = {"", "DE", "US,\"CA\""};  // any bytes, the empty string included
  for (uint32_t u = 0; u < 30; ++u) d.locations.of_user.push_back(u % 4 == 3 ? kNoLocation : u % 3);
  write_dataset(d, dir.file("loc.vrd"));
  for (const auto verify : {Dataset::Verify::Full, Dataset::Verify::Lazy}) {
    const Dataset ds = Dataset::open(dir.file("loc.vrd"), verify);
    REQUIRE(ds.n_locations() == 3);
    CHECK(ds.location_id(2) == "US,\"CA\"");
    for (uint32_t u = 0; u < 30; ++u) CHECK(ds.user_location(u) == d.locations.of_user[u]);
  }
  // Without locations: no location section, every user without one.
  const ContainerReader plain(open_container_file(dir.file("plain.vrd")), "VRDS", kDatasetVersion);
  for (const uint32_t tag : {section::kLocationOff, section::kLocationIds, section::kUserLocation})
    CHECK_FALSE(plain.has(tag));
  const Dataset ds = Dataset::open(dir.file("plain.vrd"));
  CHECK(ds.n_locations() == 0);
  CHECK(ds.user_location(7) == kNoLocation);
  // The data is the same: only the location sections tell the files apart.
  const ContainerReader loc(open_container_file(dir.file("loc.vrd")), "VRDS", kDatasetVersion);
  CHECK(loc.sections().size() == plain.sections().size() + 3);
  for (const SectionInfo& s : plain.sections())
    if (s.tag != kBlockSumsTag) CHECK(loc.bytes(s.tag) == plain.bytes(s.tag));
}

TEST_CASE("a version 1 dataset, from before locations, reads as without them", "[dataset][location]") {
  const Dataset ds = Dataset::open(std::string(VIDREC_TEST_DATA) + "/v1/dataset.vrd");
  CHECK(ds.format_version() == 1);
  CHECK(ds.n_users() > 0);
  CHECK(ds.n_locations() == 0);
  for (uint32_t u = 0; u < ds.n_users(); ++u) CHECK(ds.user_location(u) == kNoLocation);
}

TEST_CASE("user locations that do not fit are refused, written or read", "[dataset][location]") {
  test::TempDir dir;
  DatasetData d = random_dataset(4, 4, 0.5, 3);
  d.locations.ids = {"DE", "FR"};
  d.locations.of_user = {0, 1, kNoLocation};  // one short
  CHECK_THROWS_AS(write_dataset(d, dir.file("a.vrd")), std::logic_error);
  d.locations.of_user = {0, 1, 2, kNoLocation};  // 2: no such location
  CHECK_THROWS_AS(write_dataset(d, dir.file("a.vrd")), std::logic_error);
  CHECK(dir.count() == 0);

  // Sealed, but a user's location out of range: refused by a full open,
  // and by a lazy one when that user's location is read.
  d.locations.of_user = {0, 1, 1, kNoLocation};
  write_dataset(d, dir.file("d.vrd"));
  std::string text = test::read_text(dir.file("d.vrd"));
  std::vector<char> bytes(text.begin(), text.end());
  {
    const ContainerReader r(open_container_file(dir.file("d.vrd")), "VRDS", kDatasetVersion);
    for (const SectionInfo& s : r.sections())
      if (s.tag == section::kUserLocation) bytes[s.offset + 4] = 5;  // user 1: location 5 of 2
  }
  fuzz::reseal(bytes);
  test::write_text(dir.file("bad.vrd"), std::string(bytes.begin(), bytes.end()));
  CHECK_THROWS_WITH(Dataset::open(dir.file("bad.vrd")), Catch::Contains("user location out of range"));
  const Dataset lazy = Dataset::open(dir.file("bad.vrd"), Dataset::Verify::Lazy);
  CHECK(lazy.user_location(0) == 0);
  CHECK_THROWS_WITH(lazy.user_location(1), Catch::Contains("bad.vrd") && Catch::Contains("out of range"));
}
