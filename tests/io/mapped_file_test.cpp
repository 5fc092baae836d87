// SPDX-License-Identifier: MIT
#include "vidrec/io/mapped_file.hpp"

#include <catch2/catch.hpp>

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
