// SPDX-License-Identifier: MIT
#include "vidrec/io/spill_dir.hpp"

#include <catch2/catch.hpp>
#include <filesystem>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"

using namespace vidrec;

TEST_CASE("a spill directory and its files go with the object", "[spill_dir]") {
  test::TempDir dir;
  {
    SpillDir spill(dir.path().string());
    CHECK(spill.path().rfind(dir.path().string() + "/vidrec-spill.", 0) == 0);
    const std::string a = spill.next_file(), b = spill.next_file();
    CHECK(a != b);
    test::write_text(a, "x");
    test::write_text(b, "y");
    test::write_text(a + ".tmp.Ab12Cd", "a writer's temporary, left by a signal");
    CHECK_THROWS_AS(SpillDir(dir.path().string()), std::logic_error);  // one at a time
    CHECK(dir.count() == 1);
  }
  CHECK(dir.count() == 0);
  CHECK_THROWS_WITH(SpillDir(dir.file("missing")), Catch::Contains("missing"));
}
