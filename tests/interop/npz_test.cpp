// SPDX-License-Identifier: MIT
// .npz archives: what write_npz writes NpzReader reads, stored and deflated;
// damaged archives are refused with the file named. (NumPy's own archives
// are read, and ours checked by NumPy, in tests/e2e/interop_test.sh.)
#include "vidrec/interop/npz.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"

using namespace vidrec;
using vidrec::test::TempDir;

TEST_CASE("npz round trip, stored and deflated", "[interop]") {
  TempDir dir;
  const std::vector<float> f{1.5f, -2, 0, 3};
  const NpzMembers members{{"user_factors", npy_bytes("<f4", {2, 2}, f.data(), 16)},
                           {"alpha", npy_scalar(2.0)},
                           {"dtype", npy_unicode("float32")}};
  for (const bool compress : {false, true}) {
    const std::string path = dir.file(compress ? "c.npz" : "s.npz");
    write_npz(path, members, compress);
    const NpzReader r(path);
    CHECK(r.keys() == std::vector<std::string>{"alpha", "dtype", "user_factors"});
    CHECK(float_matrix(r.array("user_factors"), "u") == f);
    CHECK(npy_number(r.array("alpha"), "a") == 2.0);
    CHECK(npy_string(r.array("dtype"), "d") == "float32");
    CHECK_THROWS_WITH(r.array("item_factors"), path + ": no member item_factors.npy");
  }
  // The same arrays give the same bytes (fixed member times).
  write_npz(dir.file("again.npz"), members, false);
  CHECK(test::read_text(dir.file("again.npz")) == test::read_text(dir.file("s.npz")));
  CHECK(dir.count() == 3);  // no temporaries left
}

TEST_CASE("npz reader refuses what is not an intact archive", "[interop]") {
  TempDir dir;
  const std::string npy = dir.file("a.npy");
  const std::vector<float> f(64, 1.0f);
  test::write_text(npy, npy_bytes("<f4", {8, 8}, f.data(), f.size() * 4));
  CHECK_THROWS_AS(NpzReader(npy), FormatError);
  CHECK_THROWS_WITH(NpzReader(npy), Catch::StartsWith(npy + ": not a readable .npz (zip) archive"));

  const std::string path = dir.file("m.npz");
  write_npz(path, {{"x", npy_bytes("<f4", {8, 8}, f.data(), f.size() * 4)}}, false);
  std::string bytes = test::read_text(path);
  const std::string cut = dir.file("cut.npz");
  test::write_text(cut, bytes.substr(0, bytes.size() / 2));
  CHECK_THROWS_AS(NpzReader(cut), FormatError);
  // A flipped byte inside the stored member's data: its CRC no longer matches.
  const size_t at = bytes.find(std::string("\0\0\x80\x3f", 4)) + 100;
  bytes[at] = char(bytes[at] ^ 0x55);
  const std::string flipped = dir.file("flipped.npz");
  test::write_text(flipped, bytes);
  CHECK_THROWS_WITH(NpzReader(flipped), Catch::StartsWith(flipped + ": x.npy: "));
}

TEST_CASE("npz members read from borrowed bodies equal whole members", "[interop]") {
  TempDir dir;
  // 3 MB, so libzip reads the member in several calls, across head and body.
  std::vector<float> f(768 * 1024);
  for (size_t i = 0; i < f.size(); ++i) f[i] = float(i % 977) * 0.25f;
  const std::string_view body(reinterpret_cast<const char*>(f.data()), f.size() * sizeof(float));
  for (const bool compress : {false, true}) {
    const std::string whole = dir.file("whole.npz"), borrowed = dir.file("borrowed.npz");
    write_npz(whole,
              {{"x", npy_bytes("<f4", {768, 1024}, f.data(), body.size())}, {"k", npy_scalar(int64_t(3))}},
              compress);
    write_npz(borrowed,
              {{"x", npy_bytes("<f4", {768, 1024}, nullptr, 0), body}, {"k", npy_scalar(int64_t(3))}},
              compress);
    CHECK(test::read_text(whole) == test::read_text(borrowed));
    CHECK(float_matrix(NpzReader(borrowed).array("x"), "x") == f);
  }
}
