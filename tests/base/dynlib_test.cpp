// SPDX-License-Identifier: MIT
#include "vidrec/base/dynlib.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "vidrec/base/errors.hpp"

using vidrec::DynamicLibrary;

TEST_CASE("dynlib: a library that is not installed names itself and the package", "[base]") {
  try {
    DynamicLibrary lib("libvidrec_no_such_library.so.1", "vidrec-no-such-package");
    FAIL("loaded a library that does not exist");
  } catch (const vidrec::IoError& e) {
    const std::string m = e.what();
    CHECK(m.find("cannot load libvidrec_no_such_library.so.1") != std::string::npos);
    CHECK(m.find("apt-get install vidrec-no-such-package") != std::string::npos);
  }
}

TEST_CASE("dynlib: bind finds a function, and names one that is missing", "[base]") {
  const DynamicLibrary lib("libz.so.1", "zlib1g");  // linked by vidrec_core anyway
  const char* (*version)() = nullptr;
  lib.bind(version, "zlibVersion");
  REQUIRE(version != nullptr);
  CHECK(std::string(version()).substr(0, 1) == "1");
  void (*missing)() = nullptr;
  CHECK_THROWS_WITH(lib.bind(missing, "vidrec_no_such_function"),
                    "libz.so.1: no vidrec_no_such_function (apt-get install zlib1g)");
}
