// SPDX-License-Identifier: MIT
#include "vidrec/io/mapped_file.hpp"

#include <catch2/catch.hpp>
#include <filesystem>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"

using namespace vidrec;

TEST_CASE("MappedFile reports missing files and directories", "[io]") {
  test::TempDir dir;
  CHECK_THROWS_WITH(MappedFile::open(dir.file("nope")),
                    Catch::Contains("nope") && Catch::Contains("cannot open"));
  CHECK_THROWS_WITH(MappedFile::open(dir.path().string()), Catch::Contains("is a directory"));
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
