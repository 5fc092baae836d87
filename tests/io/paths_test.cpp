// SPDX-License-Identifier: MIT
#include "vidrec/io/paths.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"

using namespace vidrec;

namespace {
void symlink_or_fail(const std::string& target, const std::string& link) {
  REQUIRE(::symlink(target.c_str(), link.c_str()) == 0);
}
}  // namespace

TEST_CASE("resolve_output follows chains of symbolic links to the file replaced", "[io]") {
  test::TempDir dir;
  const std::string real = dir.file("real.vrd");
  test::write_text(real, "x");
  CHECK(resolve_output(real) == real);
  CHECK(resolve_output("-") == "-");
  CHECK(resolve_output(dir.file("new.vrd")) == dir.file("new.vrd"));
  symlink_or_fail(real, dir.file("abs"));
  CHECK(resolve_output(dir.file("abs")) == real);
  // Relative targets are relative to the link's directory, not the cwd.
  ::mkdir(dir.file("sub").c_str(), 0755);
  symlink_or_fail("../real.vrd", dir.file("sub/rel"));
  CHECK(resolve_output(dir.file("sub/rel")) == dir.file("sub/../real.vrd"));
  symlink_or_fail("../abs", dir.file("sub/chain"));  // relative, then absolute
  CHECK(resolve_output(dir.file("sub/chain")) == real);
  // A dangling link: the file it will create.
  symlink_or_fail("later.vrd", dir.file("dangling"));
  CHECK(resolve_output(dir.file("dangling")) == dir.file("later.vrd"));
  symlink_or_fail("loop2", dir.file("loop1"));
  symlink_or_fail("loop1", dir.file("loop2"));
  CHECK_THROWS_WITH(resolve_output(dir.file("loop1")), Catch::Contains("too many levels of symbolic links"));
}

TEST_CASE("check_outputs refuses outputs that name an input or each other", "[io]") {
  test::TempDir dir;
  const std::string in = dir.file("in.csv"), out = dir.file("out.vrd");
  test::write_text(in, "raw");
  CHECK_NOTHROW(check_outputs({{"input", in}}, {{"-o", out}, {"--rejects", dir.file("r.tsv")}}));
  CHECK_NOTHROW(check_outputs({{"input", "-"}}, {{"-o", "-"}}));  // stdin in, stdout out

  CHECK_THROWS_AS(check_outputs({{"input", in}}, {{"-o", out}, {"--rejects", in}}), ConfigError);
  CHECK_THROWS_WITH(check_outputs({{"input", in}}, {{"-o", out}, {"--rejects", in}}),
                    Catch::Contains("--rejects " + in) && Catch::Contains("names the input"));
  // Other spellings, a symbolic link, a hard link: the same file.
  CHECK_THROWS_AS(check_outputs({{"input", in}}, {{"-o", dir.file("./in.csv")}}), ConfigError);
  symlink_or_fail("in.csv", dir.file("link.csv"));
  CHECK_THROWS_AS(check_outputs({{"input", in}}, {{"-o", dir.file("link.csv")}}), ConfigError);
  CHECK_THROWS_AS(check_outputs({{"input", dir.file("link.csv")}}, {{"-o", in}}), ConfigError);
  REQUIRE(::link(in.c_str(), dir.file("hard.csv").c_str()) == 0);
  CHECK_THROWS_AS(check_outputs({{"input", in}}, {{"-o", dir.file("hard.csv")}}), ConfigError);

  // Two outputs: equal spellings, or one not yet there reached through a link.
  ::mkdir(dir.file("sub").c_str(), 0755);
  CHECK_THROWS_WITH(check_outputs({}, {{"-o", out}, {"--test", dir.file("sub/../out.vrd")}}),
                    Catch::Contains("name the same file"));
  symlink_or_fail("out.vrd", dir.file("to-out"));
  CHECK_THROWS_AS(check_outputs({}, {{"-o", out}, {"--test", dir.file("to-out")}}), ConfigError);
  CHECK_THROWS_WITH(check_outputs({}, {{"-o", "-"}, {"--rejects", "-"}}),
                    Catch::Contains("both write to stdout"));
}

TEST_CASE("check_outputs refuses an existing output that is not a regular file", "[io]") {
  test::TempDir dir;
  CHECK_THROWS_WITH(check_outputs({}, {{"-o", dir.path().string()}}),
                    Catch::Contains("not a regular file (a directory)"));
  REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0644) == 0);
  CHECK_THROWS_WITH(check_outputs({}, {{"-o", dir.file("fifo")}}), Catch::Contains("a FIFO or pipe"));
  CHECK_THROWS_AS(check_outputs({}, {{"-o", "/dev/null"}}), IoError);
  symlink_or_fail("/dev/null", dir.file("null-link"));
  CHECK_THROWS_WITH(check_outputs({}, {{"-o", dir.file("null-link")}}), Catch::Contains("a character device"));
}

TEST_CASE("open_regular refuses devices, FIFOs and directories without blocking", "[io]") {
  test::TempDir dir;
  test::write_text(dir.file("f"), "x");
  const int fd = open_regular(dir.file("f"));
  CHECK(fd >= 0);
  char c = 0;
  CHECK(::read(fd, &c, 1) == 1);
  ::close(fd);
  CHECK_THROWS_WITH(open_regular("/dev/zero"),
                    Catch::Contains("/dev/zero: not a regular file (a character device)"));
  CHECK_THROWS_WITH(open_regular(dir.path().string()), Catch::Contains("not a regular file (a directory)"));
  REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0644) == 0);
  // No writer ever opens the FIFO: a blocking open would hang here.
  CHECK_THROWS_WITH(open_regular(dir.file("fifo")), Catch::Contains("not a regular file (a FIFO or pipe)"));
  CHECK_THROWS_WITH(open_regular(dir.file("nope")), Catch::Contains("nope: cannot open"));
  CHECK_THROWS_WITH(require_regular_file("/dev/zero"), Catch::Contains("not a regular file"));
  CHECK_NOTHROW(require_regular_file(dir.file("f")));
}

TEST_CASE("open_streamable takes regular files and FIFOs, not devices", "[io]") {
  test::TempDir dir;
  CHECK_THROWS_WITH(open_streamable("/dev/zero"), Catch::Contains("not a regular file (a character device)"));
  CHECK_THROWS_WITH(open_streamable(dir.path().string()), Catch::Contains("a directory"));
  const std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  std::thread writer([&] { test::write_text(fifo, "streamed"); });
  const int fd = open_streamable(fifo);
  char buf[16] = {};
  size_t got = 0;
  for (ssize_t n; (n = ::read(fd, buf + got, sizeof buf - 1 - got)) > 0;) got += size_t(n);
  ::close(fd);
  writer.join();
  CHECK(std::string(buf, got) == "streamed");
}
