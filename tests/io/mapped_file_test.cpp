// SPDX-License-Identifier: MIT
#include "vidrec/io/mapped_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <thread>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"

using namespace vidrec;

TEST_CASE("MappedFile reports missing files and directories", "[io]") {
  test::TempDir dir;
  CHECK_THROWS_WITH(MappedFile::open(dir.file("nope")),
                    Catch::Contains("nope") && Catch::Contains("cannot open"));
  CHECK_THROWS_WITH(MappedFile::open(dir.path().string()), Catch::Contains("not a regular file (a directory)"));
  test::write_text(dir.file("empty"), "");
  CHECK(MappedFile::open(dir.file("empty"))->size() == 0);
}

TEST_CASE("MappedFile::copy is the file's bytes, and nothing done to the file changes it", "[io]") {
  test::TempDir dir;
  const std::string path = dir.file("m.bin");
  std::string text(200000, 'x');
  for (size_t i = 0; i < text.size(); ++i) text[i] = char('a' + i % 26);
  test::write_text(path, text);
  const auto copy = MappedFile::copy(path);
  REQUIRE(std::string(copy->data(), copy->size()) == text);
  std::filesystem::resize_file(path, 0);  // a mapping would now fault (SIGBUS) where the copy reads on
  CHECK(std::string(copy->data(), copy->size()) == text);
  test::write_text(path, std::string(text.size(), 'z'));  // rewritten in place
  CHECK(std::string(copy->data(), copy->size()) == text);
  CHECK(MappedFile::copy(path)->size() == text.size());
  test::write_text(dir.file("empty"), "");
  CHECK(MappedFile::copy(dir.file("empty"))->size() == 0);
  CHECK_THROWS_WITH(MappedFile::copy(dir.path().string()), Catch::Contains("not a regular file"));
  CHECK_THROWS_WITH(MappedFile::copy("/dev/zero"), Catch::Contains("/dev/zero: not a regular file"));
  CHECK_THROWS_WITH(MappedFile::copy(dir.file("nope")), Catch::Contains("cannot open"));
}

TEST_CASE("MappedFile refuses devices and FIFOs instead of reading them into memory", "[io]") {
  test::TempDir dir;
  CHECK_THROWS_WITH(MappedFile::open("/dev/zero"), Catch::Contains("/dev/zero: not a regular file"));
  CHECK_THROWS_WITH(MappedFile::open("/dev/urandom"), Catch::Contains("not a regular file (a character device)"));
  REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0644) == 0);
  CHECK_THROWS_WITH(MappedFile::open(dir.file("fifo")), Catch::Contains("not a regular file (a FIFO or pipe)"));
}

namespace {
// Runs `body` with stdin replaced by a pipe that `feed` writes into (until it
// returns or the reader closes the pipe).
template <class Feed, class Body>
void with_piped_stdin(Feed feed, Body body) {
  int p[2];
  REQUIRE(::pipe(p) == 0);
  const int saved = ::dup(STDIN_FILENO);
  ::dup2(p[0], STDIN_FILENO);
  ::close(p[0]);
  std::thread writer([&] {
    feed(p[1]);
    ::close(p[1]);
  });
  try {
    body();
  } catch (...) {
    ::dup2(saved, STDIN_FILENO);  // closes the read end: the writer gets EPIPE
    ::close(saved);
    writer.join();
    throw;
  }
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  writer.join();
}

uint64_t declare_from_byte0(const char* head, size_t n) { return n ? uint64_t(uint8_t(head[0])) : 0; }
}  // namespace

TEST_CASE("MappedFile reads a pipe only as far as its data declares", "[io]") {
  ::signal(SIGPIPE, SIG_IGN);
  // An endless stream whose first byte declares 100 bytes: 101 are read (one
  // more tells the reader something follows), not the endless rest.
  with_piped_stdin(
      [](int fd) {
        char block[4096];
        std::memset(block, 'z', sizeof block);
        block[0] = 100;
        for (size_t total = 0; total < (size_t(64) << 20); total += sizeof block) {
          if (::write(fd, block, sizeof block) <= 0) return;
          block[0] = 'z';
        }
      },
      [] {
        const auto f = MappedFile::open("-", 1, declare_from_byte0);
        CHECK(f->size() == 101);
      });
  // A short stream: all of it.
  with_piped_stdin([](int fd) { (void)!::write(fd, "\x05" "abc", 4); },
                   [] { CHECK(MappedFile::open("-", 1, declare_from_byte0)->size() == 4); });
  // A declared size beyond this machine's memory is refused before reading on.
  with_piped_stdin(
      [](int fd) {
        char head[8];
        const uint64_t huge = uint64_t(1) << 62;
        std::memcpy(head, &huge, 8);
        (void)!::write(fd, head, 8);
      },
      [] {
        auto declared = [](const char* h, size_t n) -> uint64_t {
          uint64_t v = 0;
          if (n >= 8) std::memcpy(&v, h, 8);
          return v;
        };
        CHECK_THROWS_WITH(MappedFile::open("-", 8, declared), Catch::Contains("more than this machine's memory"));
      });
}
