// SPDX-License-Identifier: MIT
#include "vidrec/io/atomic_file.hpp"

#include <catch2/catch.hpp>

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
