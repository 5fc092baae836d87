// SPDX-License-Identifier: MIT
#include "vidrec/binary_io.hpp"

#include <catch2/catch.hpp>

#include "test_util.hpp"
#include "vidrec/errors.hpp"

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

TEST_CASE("container round trip with aligned sections", "[binary_io]") {
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

TEST_CASE("reader tells apart wrong magic, newer version, truncation and corruption", "[binary_io]") {
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

TEST_CASE("AtomicFile replaces only on commit and leaves no temporary behind", "[binary_io]") {
  test::TempDir dir;
  const std::string path = dir.file("out.bin");
  test::write_text(path, "old");
  {
    AtomicFile f(path);
    f.write("new", 3);
  }  // no commit: abandoned
  CHECK(test::read_text(path) == "old");
  CHECK(dir.count() == 1);
  {
    AtomicFile f(path);
    f.write("new", 3);
    f.commit();
  }
  CHECK(test::read_text(path) == "new");
  CHECK(dir.count() == 1);
  CHECK_THROWS_AS(AtomicFile(dir.file("no/such/dir/x")), IoError);
}

TEST_CASE("MappedFile reports missing files and directories", "[binary_io]") {
  test::TempDir dir;
  CHECK_THROWS_WITH(MappedFile::open(dir.file("nope")),
                    Catch::Contains("nope") && Catch::Contains("cannot open"));
  CHECK_THROWS_WITH(MappedFile::open(dir.path().string()), Catch::Contains("is a directory"));
  test::write_text(dir.file("empty"), "");
  CHECK(MappedFile::open(dir.file("empty"))->size() == 0);
}
