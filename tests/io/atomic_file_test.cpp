// SPDX-License-Identifier: MIT
#include "vidrec/io/atomic_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <vector>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"

using namespace vidrec;

TEST_CASE("AtomicFile replaces only on commit and leaves no temporary behind", "[io]") {
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

TEST_CASE("AtomicFile pwrites scattered past the writeback hint land where they were written", "[io]") {
  // 40 MiB in 64 KiB pieces, back to front in two interleaved streams (as a
  // streamed container writes its sections): writeback starts on the way.
  test::TempDir dir;
  const std::string path = dir.file("out.bin");
  const size_t piece = 64 << 10, pieces = 640;
  std::vector<uint32_t> buf(piece / 4);
  {
    AtomicFile f(path);
    for (size_t i = 0; i < pieces; ++i) {
      const size_t at = i % 2 ? i / 2 : pieces - 1 - i / 2;
      for (size_t k = 0; k < buf.size(); ++k) buf[k] = uint32_t(at * buf.size() + k);
      f.pwrite(uint64_t(at) * piece, buf.data(), piece);
    }
    f.commit();
  }
  const std::string got = test::read_text(path);
  REQUIRE(got.size() == piece * pieces);
  size_t wrong = 0;
  for (size_t k = 0; k < got.size() / 4; ++k) {
    uint32_t v;
    std::memcpy(&v, got.data() + 4 * k, 4);
    wrong += v != k;
  }
  CHECK(wrong == 0);
  CHECK(dir.count() == 1);
}

TEST_CASE("AtomicFile through a symbolic link replaces the target and keeps the link", "[io]") {
  test::TempDir dir;
  const std::string target = dir.file("real.vrm");
  test::write_text(target, "old");
  ::mkdir(dir.file("sub").c_str(), 0755);
  REQUIRE(::symlink("../real.vrm", dir.file("sub/one").c_str()) == 0);  // relative, another directory
  REQUIRE(::symlink("sub/one", dir.file("two").c_str()) == 0);          // a chain of two
  for (const std::string& link : {dir.file("sub/one"), dir.file("two")}) {
    AtomicFile f(link);
    f.write("new", 3);
    f.commit();
    struct stat st {};
    REQUIRE(::lstat(link.c_str(), &st) == 0);
    CHECK(S_ISLNK(st.st_mode));
    CHECK(test::read_text(target) == "new");
    test::write_text(target, "old");
  }
  // A dangling link: the file it points to is created, the link kept.
  REQUIRE(::symlink("later.vrm", dir.file("dangling").c_str()) == 0);
  {
    AtomicFile f(dir.file("dangling"));
    f.write("made", 4);
    f.commit();
  }
  CHECK(test::read_text(dir.file("later.vrm")) == "made");
  struct stat st {};
  REQUIRE(::lstat(dir.file("dangling").c_str(), &st) == 0);
  CHECK(S_ISLNK(st.st_mode));
}

TEST_CASE("OutputLock through a link and through its target exclude each other", "[io]") {
  test::TempDir dir;
  const std::string target = dir.file("real.vrd");
  test::write_text(target, "x");
  REQUIRE(::symlink("real.vrd", dir.file("link.vrd").c_str()) == 0);
  REQUIRE(::symlink("link.vrd", dir.file("link2.vrd").c_str()) == 0);
  {
    OutputLock first(dir.file("link.vrd"));
    CHECK_THROWS_WITH(OutputLock(target), Catch::Contains("another vidrec is writing"));
    CHECK_THROWS_AS(OutputLock(dir.file("link2.vrd")), IoError);
  }
  {
    OutputLock first(target);
    CHECK_THROWS_AS(OutputLock(dir.file("link.vrd")), IoError);
  }
  CHECK_NOTHROW(OutputLock(dir.file("link.vrd")));
  // A temporary left by a killed writer of the target is cleared by a writer via the link.
  test::write_text(target + ".tmp.abc123", "left over");
  { OutputLock lock(dir.file("link2.vrd")); }
  CHECK(!std::filesystem::exists(target + ".tmp.abc123"));
}

TEST_CASE("AtomicOstream streams into the temporary; only commit publishes", "[io]") {
  test::TempDir dir;
  const std::string path = dir.file("rejects.tsv");
  test::write_text(path, "previous\n");
  {
    AtomicFile f(path);
    AtomicOstream out(f);
    for (int i = 0; i < 100000; ++i) out << "line " << i << '\n';
    out.flush();
    CHECK(test::read_text(path) == "previous\n");  // nothing visible before commit
  }  // abandoned
  CHECK(test::read_text(path) == "previous\n");
  CHECK(dir.count() == 1);
  {
    AtomicFile f(path);
    AtomicOstream out(f);
    out << "a\tb\n" << 42 << '\n';
    out.flush();
    f.commit();
  }
  CHECK(test::read_text(path) == "a\tb\n42\n");
}
