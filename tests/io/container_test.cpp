// SPDX-License-Identifier: MIT
#include "vidrec/io/container.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <limits>
#include <random>

#include "fuzz/reseal.hpp"
#include "test_util.hpp"
#include "vidrec/base/errors.hpp"
// The reference: xxHash's own code, its scalar path, whatever the library
// and checksum64 dispatch to.
#define XXH_INLINE_ALL
#define XXH_VECTOR XXH_SCALAR
#include <xxhash.h>

using namespace vidrec;

namespace {
constexpr uint32_t kA = make_tag("AAAA"), kB = make_tag("BBBB");

std::vector<char> sample(const test::TempDir& dir) {
  const std::vector<uint32_t> a{1, 2, 3};
  const std::string b = "hello";
  ContainerWriter w("VRDS", 1);
  w.add(kA, a);
  w.add(kB, b);
  AtomicFile f(dir.file("s.bin"));
  w.write(f);
  const std::string text = test::read_text(dir.file("s.bin"));
  return {text.begin(), text.end()};
}

ContainerReader open_bytes(std::vector<char> bytes, uint32_t max_version = 1) {
  return ContainerReader(MappedFile::from_bytes("f.vrd", std::move(bytes)), "VRDS", max_version);
}
}  // namespace

TEST_CASE("container round trip with aligned sections", "[io]") {
  test::TempDir dir;
  const ContainerReader r = open_bytes(sample(dir));
  CHECK(r.version() == 1);
  const uint32_t* a = r.array<uint32_t>(kA, 3);
  CHECK(a[2] == 3);
  CHECK(r.bytes(kB) == "hello");
  for (const SectionInfo& s : r.sections()) CHECK(s.offset % 64 == 0);
  CHECK_THROWS_WITH(r.array<uint32_t>(kA, 4), Catch::Contains("corrupt") && Catch::Contains("AAAA"));
  CHECK_THROWS_WITH(r.bytes(make_tag("ZZZZ")), Catch::Contains("missing section ZZZZ"));
}

TEST_CASE("reader tells apart wrong magic, newer version, truncation and corruption", "[io]") {
  test::TempDir dir;
  const std::vector<char> good = sample(dir);

  CHECK_THROWS_WITH(open_bytes({}), Catch::Contains("empty file"));
  CHECK_THROWS_WITH(open_bytes({'a', 'b', 'c', 'd', 'e'}), Catch::Contains("not a vidrec dataset"));
  CHECK_THROWS_WITH(ContainerReader(MappedFile::from_bytes("m", good), "VRMD", 1),
                    Catch::Contains("is a vidrec dataset file, expected a model"));
  CHECK_NOTHROW(open_bytes(good, 2));
  std::vector<char> newer = good;
  newer[4] = 9;
  CHECK_THROWS_WITH(open_bytes(newer), Catch::Contains("newer vidrec") && Catch::Contains("version 9"));

  for (size_t cut : {size_t(10), size_t(64), good.size() / 2, good.size() - 1}) {
    std::vector<char> t(good.begin(), good.begin() + int64_t(cut));
    CHECK_THROWS_AS(open_bytes(t), FormatError);
  }
  CHECK_THROWS_WITH(open_bytes(std::vector<char>(good.begin(), good.end() - 1)),
                    Catch::Contains("truncated"));

  // Every single bit flip anywhere is caught.
  for (size_t i = 0; i < good.size(); ++i)
    for (int bit = 0; bit < 8; bit += 3) {
      std::vector<char> f = good;
      f[i] = char(f[i] ^ (1 << bit));
      bool caught = false;
      try {
        open_bytes(f);
      } catch (const FormatError&) {
        caught = true;
      }
      // Flips in alignment padding between sections are harmless and undetected.
      if (!caught) {
        const ContainerReader r = open_bytes(f);
        CHECK(r.bytes(kB) == "hello");
        CHECK(r.array<uint32_t>(kA, 3)[0] == 1);
      }
    }
}

TEST_CASE("a stream writes what ContainerWriter writes, however its sections interleave", "[io]") {
  test::TempDir dir;
  std::mt19937 rng(3);
  for (int round = 0; round < 20; ++round) {
    std::vector<std::string> data(1 + rng() % 6);
    std::vector<std::pair<uint32_t, uint64_t>> layout;
    ContainerWriter whole("VRMD", 2);
    for (size_t i = 0; i < data.size(); ++i) {
      data[i].resize(rng() % 3 == 0 ? 0 : rng() % 300);  // empty sections too
      for (char& c : data[i]) c = char(rng());
      layout.emplace_back(make_tag("S000") + uint32_t(i << 24), data[i].size());
      whole.add(layout.back().first, data[i]);
    }
    AtomicFile a(dir.file("whole.bin"));
    const uint64_t want = whole.write(a);

    AtomicFile b(dir.file("stream.bin"));
    ContainerStream stream(b, "VRMD", 2, layout);
    // Each section cut into pieces (an empty one: one empty piece), the
    // pieces of all sections shuffled; a section's own stay in order.
    std::vector<std::vector<size_t>> cuts(data.size());
    std::vector<size_t> turns;
    for (size_t i = 0; i < data.size(); ++i) {
      for (size_t at = 0; at < data[i].size();)
        cuts[i].push_back(at += std::min<size_t>(data[i].size() - at, 1 + rng() % 40));
      if (cuts[i].empty()) cuts[i].push_back(0);
      turns.insert(turns.end(), cuts[i].size(), i);
    }
    std::shuffle(turns.begin(), turns.end(), rng);
    std::vector<size_t> next(data.size(), 0), done(data.size(), 0);
    for (const size_t i : turns) {
      const size_t end = cuts[i][next[i]++];
      stream.append(i, data[i].data() + done[i], end - done[i]);
      done[i] = end;
    }
    CHECK(stream.commit() == want);
    CHECK(test::read_text(dir.file("stream.bin")) == test::read_text(dir.file("whole.bin")));
  }
}

TEST_CASE("a stream refuses too many bytes and an incomplete section, and writes nothing", "[io]") {
  test::TempDir dir;
  const std::string path = dir.file("s.bin");
  {
    AtomicFile f(path);
    ContainerStream s(f, "VRDS", 1, {{kA, 8}, {kB, 4}});
    s.append(0, "12345678", 8);
    CHECK_THROWS_AS(s.append(0, "9", 1), std::logic_error);
    s.append(1, "ab", 2);
    CHECK_THROWS_WITH(s.commit(), Catch::Contains("BBBB") && Catch::Contains("incomplete"));
  }
  CHECK(dir.count() == 0);
}

namespace {
// A container whose section A spans 3.5 checksum blocks of random bytes.
std::vector<char> multi_block(const test::TempDir& dir, std::vector<char>& a) {
  std::mt19937 rng(5);
  a.resize(size_t(kChecksumBlock) * 7 / 2);
  for (char& c : a) c = char(rng());
  const std::string b = "hello";  // ContainerWriter keeps pointers until write()
  ContainerWriter w("VRDS", 2);
  w.add(kA, a.data(), a.size());
  w.add(kB, b);
  AtomicFile f(dir.file("m.bin"));
  w.write(f);
  const std::string text = test::read_text(dir.file("m.bin"));
  return {text.begin(), text.end()};
}
ContainerReader open_lazy(std::vector<char> bytes) {
  return ContainerReader(MappedFile::from_bytes("f.vrd", std::move(bytes)), "VRDS", 2, false);
}
uint64_t offset_of(const ContainerReader& r, uint32_t tag) {
  for (const SectionInfo& s : r.sections())
    if (s.tag == tag) return s.offset;
  return 0;
}
}  // namespace

TEST_CASE("a lazy reader verifies the blocks it is asked for, each when first asked", "[io]") {
  test::TempDir dir;
  std::vector<char> a;
  std::vector<char> bytes = multi_block(dir, a);
  const uint64_t at = offset_of(open_lazy(bytes), kA);
  bytes[at + 2 * kChecksumBlock + 100] ^= 1;  // block 2 of A
  CHECK_THROWS_WITH(ContainerReader(MappedFile::from_bytes("f.vrd", bytes), "VRDS", 2),
                    Catch::Contains("checksum mismatch in section AAAA"));
  const ContainerReader r = open_lazy(bytes);
  CHECK(r.lazy());
  CHECK_NOTHROW(r.check(kA, 0, 2 * kChecksumBlock));             // blocks 0 and 1
  CHECK_NOTHROW(r.check(kA, 3 * kChecksumBlock, a.size() - 3 * kChecksumBlock));  // the last, partial
  CHECK_NOTHROW(r.check_all(kB));
  CHECK_THROWS_WITH(r.check(kA, 2 * kChecksumBlock + 100, 1),
                    Catch::Contains("f.vrd") && Catch::Contains("section AAAA, block 2"));
  CHECK_THROWS_WITH(r.check(kA, kChecksumBlock - 1, 2 * kChecksumBlock), Catch::Contains("block 2"));
  CHECK_THROWS_AS(r.check(kA, 2 * kChecksumBlock + 100, 1), FormatError);  // refused every time
  CHECK_THROWS_WITH(r.check(kA, a.size() - 1, 2), Catch::Contains("past the end of section AAAA"));
  CHECK_THROWS_WITH(r.check(kB, 6, 0), Catch::Contains("past the end"));
}

TEST_CASE("block checksums: required from version 2, checked at open, absent from version 1", "[io]") {
  test::TempDir dir;
  std::vector<char> a;
  const std::vector<char> good = multi_block(dir, a);
  const ContainerReader intact = open_lazy(good);
  REQUIRE(intact.sections().back().tag == kBlockSumsTag);
  CHECK(intact.sections().back().size == 5 * sizeof(uint64_t));  // 4 blocks of A, 1 of B

  std::vector<char> bad = good;  // a damaged block sum: refused at open, before any block is used
  bad[offset_of(intact, kBlockSumsTag) + 3] ^= 1;
  CHECK_THROWS_WITH(open_lazy(bad), Catch::Contains("checksum mismatch in section BSUM"));

  bad = good;  // sealed, but not a BSUM any more
  std::memcpy(bad.data() + 64 + 32 * 2, "XSUM", 4);
  fuzz::reseal(bad);
  CHECK_THROWS_WITH(open_lazy(bad), Catch::Contains("missing block checksums"));

  // A version 1 file (no BSUM) opened lazily is verified whole at once.
  const std::string v1 = test::read_text(std::string(VIDREC_TEST_DATA) + "/v1/dataset.vrd");
  std::vector<char> old(v1.begin(), v1.end());
  CHECK_FALSE(open_lazy(old).lazy());
  old[open_lazy(old).sections()[0].offset] ^= 1;
  CHECK_THROWS_WITH(open_lazy(old), Catch::Contains("checksum mismatch"));
}

TEST_CASE("require_finite refuses NaN and infinity, at once or as blocks are checked", "[io]") {
  test::TempDir dir;
  for (const float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity()}) {
    std::vector<float> x(size_t(kChecksumBlock) / 2, 1.5f);  // two blocks
    x[x.size() - 3] = bad;
    ContainerWriter w("VRDS", 2);
    w.add(kA, x);
    AtomicFile f(dir.file("f.bin"));
    w.write(f);
    const std::string text = test::read_text(dir.file("f.bin"));
    const std::vector<char> bytes(text.begin(), text.end());
    ContainerReader full(MappedFile::from_bytes("f.vrd", bytes), "VRDS", 2);
    CHECK_THROWS_WITH(full.require_finite(kA), Catch::Contains("non-finite") && Catch::Contains("AAAA"));
    ContainerReader lazy = open_lazy(bytes);
    lazy.require_finite(kA);
    CHECK_NOTHROW(lazy.check(kA, 0, kChecksumBlock));
    CHECK_THROWS_WITH(lazy.check(kA, kChecksumBlock, 4), Catch::Contains("non-finite"));
  }
}

TEST_CASE("checksum64 is XXH3-64 at every length and alignment, whichever SIMD path runs", "[container]") {
  std::mt19937_64 rng(5);
  std::vector<unsigned char> bytes((size_t(1) << 20) + 64);
  for (unsigned char& b : bytes) b = static_cast<unsigned char>(rng());
  std::vector<size_t> sizes;
  for (size_t n = 0; n <= 1100; ++n) sizes.push_back(n);  // every branch of XXH3's short and mid paths
  for (size_t n : {4095, 4096, 4097, 65536, 99991, 1 << 20}) sizes.push_back(n);
  for (size_t n : sizes)
    for (size_t offset : {0, 1, 7, 31}) {
      const unsigned char* p = bytes.data() + offset;
      INFO("size " << n << ", offset " << offset);
      REQUIRE(vidrec::checksum64(p, n) == XXH3_64bits(p, n));
    }
}
