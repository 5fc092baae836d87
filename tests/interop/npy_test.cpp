// SPDX-License-Identifier: MIT
// The .npy reader against headers written by hand after NumPy's format
// description (numpy.lib.format), and the writer against NumPy's exact bytes.
#include "vidrec/interop/npy.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "vidrec/base/errors.hpp"

using namespace vidrec;

namespace {

// A version 1.0 file: magic, version, u16 header length, header, data.
std::string npy_v1(const std::string& header, const std::string& data) {
  std::string s("\x93NUMPY\x01\x00", 8);
  s += char(header.size() & 0xff);
  s += char(header.size() >> 8);
  return s + header + data;
}

std::string bytes_of(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

std::string big_endian_doubles(const std::vector<double>& v) {
  std::string s;
  for (double d : v) {
    char b[8];
    std::memcpy(b, &d, 8);
    for (int i = 7; i >= 0; --i) s += b[i];
  }
  return s;
}

}  // namespace

TEST_CASE("npy header: C-order float32 as numpy.save writes it", "[interop]") {
  const std::string header =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + std::string(58, ' ') + "\n";
  const std::vector<float> v{1, 2, 3, 4, 5, 6};
  const std::string file = npy_v1(header, bytes_of(v));
  REQUIRE(file.size() == 128 + 24);
  const NpyArray a = parse_npy(file.data(), file.size(), "a.npy");
  CHECK(a.kind == 'f');
  CHECK(a.item_size == 4);
  CHECK_FALSE(a.big_endian);
  CHECK_FALSE(a.fortran_order);
  CHECK(a.shape == std::vector<uint64_t>{2, 3});
  CHECK(float_matrix(a, "a.npy") == v);
  // The writer gives these bytes exactly.
  CHECK(npy_bytes("<f4", {2, 3}, v.data(), 24) == file);
}

TEST_CASE("npy header: Fortran order, big-endian float64, key order, spacing and Python 2 longs",
          "[interop]") {
  // Column-major 2 x 3: columns (1, 4), (2, 5), (3, 6).
  const std::string header = "{\"shape\":(2L,3L),'fortran_order':True,  'descr':'>f8'}\n";
  const std::string file = npy_v1(header, big_endian_doubles({1, 4, 2, 5, 3, 6}));
  const NpyArray a = parse_npy(file.data(), file.size(), "f.npy");
  CHECK(a.big_endian);
  CHECK(a.fortran_order);
  CHECK(float_matrix(a, "f.npy") == std::vector<float>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("npy header: versions 2.0 and 3.0 have a 4-byte header length", "[interop]") {
  const std::string header = "{'descr': '<i8', 'fortran_order': False, 'shape': (), }\n";
  for (const char major : {'\x02', '\x03'}) {
    std::string file("\x93NUMPY", 6);
    file += major;
    file += '\0';
    file += std::string{char(header.size()), 0, 0, 0} + header;
    const int64_t v = -7;
    file.append(reinterpret_cast<const char*>(&v), 8);
    const NpyArray a = parse_npy(file.data(), file.size(), "s.npy");
    CHECK(a.shape.empty());
    CHECK(npy_number(a, "s.npy") == -7);
  }
}

TEST_CASE("npy scalars as numpy.savez stores Python values", "[interop]") {
  // np.save(f, np.array('float32')): '<U7', UCS-4 little-endian.
  const std::string u = npy_unicode("float32");
  REQUIRE(u.size() == 128 + 28);
  // np.save(f, np.array('float32')): 118 header bytes, then 'f', 0, 0, 0, 'l', ...
  CHECK(u.substr(0, 128) ==
        npy_v1("{'descr': '<U7', 'fortran_order': False, 'shape': (), }" + std::string(62, ' ') + "\n", ""));
  CHECK(u.compare(128, 8, std::string("f\0\0\0l\0\0\0", 8)) == 0);
  const NpyArray a = parse_npy(u.data(), u.size(), "dtype.npy");
  CHECK(npy_string(a, "dtype.npy") == "float32");
  const std::string b = npy_bool(true);
  CHECK(npy_number(parse_npy(b.data(), b.size(), "b"), "b") == 1);
  const std::string d = npy_scalar(0.25);
  CHECK(npy_number(parse_npy(d.data(), d.size(), "d"), "d") == 0.25);
  const std::string s = npy_bytes_scalar("csr");
  CHECK(s.find("'descr': '|S3'") != std::string::npos);
  CHECK(npy_string(parse_npy(s.data(), s.size(), "s"), "s") == "csr");
}

TEST_CASE("npy writer: 1-D shape and header alignment", "[interop]") {
  const std::vector<int32_t> v{0, 2, 5};
  const std::string file = npy_bytes("<i4", {3}, v.data(), 12);
  // np.save(f, np.array([0, 2, 5], np.int32)): the dict, 20 spaces of room
  // for the first axis to grow, padding to 128 bytes.
  CHECK(file ==
        npy_v1("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }" + std::string(60, ' ') + "\n",
               std::string("\0\0\0\0\2\0\0\0\5\0\0\0", 12)));
}

TEST_CASE("npy reader refuses malformed files with the file named", "[interop]") {
  const std::string ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }\n";
  const std::string data(8, '\0');
  const auto refuses = [](const std::string& file, const std::string& why) {
    try {
      parse_npy(file.data(), file.size(), "bad.npy");
      FAIL("accepted: " << why);
    } catch (const FormatError& e) {
      const std::string msg = e.what();
      CHECK(msg.rfind("bad.npy: ", 0) == 0);
      CHECK_THAT(msg, Catch::Contains(why));
    }
  };
  refuses("PK\x03\x04 not npy", "no \\x93NUMPY magic");
  refuses(std::string("\x93NUMPY\x09\x00", 8) + "xx", "unsupported .npy format version 9");
  refuses(npy_v1(ok, data).substr(0, 30), "truncated .npy header");
  refuses(npy_v1(ok, data.substr(0, 5)), "truncated: shape (1, 2) of <f4 needs 8 data bytes, the file has 5");
  refuses(npy_v1(ok, data + "x"), "1 bytes after the array's data");
  // Headers (with `data` after them) and the reason each is refused for.
  const std::vector<std::pair<std::string, std::string>> headers{
      {"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", "unsupported dtype '|O'"},
      {"{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }", "unsupported dtype '<f2'"},
      {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
       "structured dtypes are not supported"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, -2), }", "non-negative integers"},
      {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1, 2), }", "True or False"},
      {"{'descr': '<f4', 'shape': (1, 2), }", "all required"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }",
       "unexpected or repeated key 'descr'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), } x", "after the closing"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", "too large"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2)", "expected ',' or '}'"},
  };
  for (const auto& h : headers) refuses(npy_v1(h.first + "\n", data), h.second);
}

TEST_CASE("float_matrix refuses what a model cannot hold", "[interop]") {
  const std::vector<float> nan{1, std::numeric_limits<float>::quiet_NaN()};
  const std::string f = npy_bytes("<f4", {1, 2}, nan.data(), 8);
  CHECK_THROWS_WITH(float_matrix(parse_npy(f.data(), f.size(), "n.npy"), "n.npy"),
                    "n.npy: row 0 column 1 is NaN");
  const std::vector<double> big{1e300};
  const std::string g = npy_bytes("<f8", {1, 1}, big.data(), 8);
  CHECK_THROWS_WITH(float_matrix(parse_npy(g.data(), g.size(), "g.npy"), "g.npy"),
                    "g.npy: row 0 column 0 is beyond float32's range");
  const std::vector<int64_t> ints{1, 2};
  const std::string i = npy_bytes("<i8", {1, 2}, ints.data(), 16);
  CHECK_THROWS_WITH(float_matrix(parse_npy(i.data(), i.size(), "i.npy"), "i.npy"),
                    "i.npy: dtype <i8: expected float32 or float64");
  const std::string one = npy_bytes("<f4", {2}, nan.data(), 8);
  CHECK_THROWS_WITH(float_matrix(parse_npy(one.data(), one.size(), "o.npy"), "o.npy"),
                    "o.npy: expected a 2-D array, got shape (2,)");
}
