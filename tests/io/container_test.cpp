// SPDX-License-Identifier: MIT
#include "vidrec/io/container.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"

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
