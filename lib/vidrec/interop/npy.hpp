// SPDX-License-Identifier: MIT
// NumPy's .npy array format (format versions 1.0, 2.0 and 3.0): what export
// writes and import reads, alone or as members of an .npz archive (npz.hpp).
//
// Contract
// - parse_npy reads the header of one .npy image: magic, version, header
//   length, and the header dict (descr, fortran_order, shape) in the Python
//   literal syntax NumPy writes; the data must be exactly the size the header
//   declares. Anything else (wrong magic, a truncated file, an unknown key,
//   a descr vidrec cannot read, trailing bytes) is a FormatError naming the
//   file and the reason. The array's bytes are borrowed, not copied.
// - Readable descrs: little/big/native-endian floats (f4, f8), integers (i1..i8,
//   u1..u8), booleans (b1), fixed-width strings (S, U); object arrays ('|O')
//   are refused, as NumPy's load(allow_pickle=False) refuses them.
// - float_matrix gives a 2-D float array as float32 in C order (rows x
//   columns), converting float64, byte order and Fortran order; NaN or
//   infinity is refused with the row and column.
// - npy_bytes writes what numpy.save writes for the same array, byte for
//   byte: version 1.0 (2.0 when the header would not fit 65535 bytes), the
//   dict padded with spaces to a multiple of 64 bytes and ended by '\n'.
// Why by hand: Debian packages no C++ library for the format, and the header
// is one short line of Python literal syntax.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vidrec {

struct NpyArray {
  char kind = 0;            // 'f' float, 'i' signed, 'u' unsigned, 'b' bool, 'S' bytes, 'U' UCS-4
  uint32_t item_size = 0;   // bytes per element
  bool big_endian = false;  // of the stored elements ('|' and one-byte kinds: false)
  bool fortran_order = false;
  std::vector<uint64_t> shape;  // empty for a scalar (shape ())
  const char* data = nullptr;
  uint64_t data_size = 0;
  uint64_t elements() const;
};

// `name` is used in messages ("model.npz: user_factors.npy: ...").
NpyArray parse_npy(const char* bytes, size_t size, const std::string& name);

// A 2-D float32/float64 array as rows x cols float32, C order.
std::vector<float> float_matrix(const NpyArray& a, const std::string& name);
// A scalar (shape ()) as a number: floats, integers and booleans.
double npy_number(const NpyArray& a, const std::string& name);
// A scalar string ('S' or ASCII 'U'), without NumPy's trailing NULs.
std::string npy_string(const NpyArray& a, const std::string& name);

// The .npy image of a little-endian array with descr `descr` ("<f4", "<i8",
// "|b1", "<U7", "|S3") and `shape`; `data` must hold the elements in C order.
std::string npy_bytes(const std::string& descr, const std::vector<uint64_t>& shape, const void* data,
                      size_t size);
// Scalars as numpy.savez stores Python values: int -> <i8, float -> <f8,
// bool -> |b1, str -> <Un (UCS-4), bytes -> |Sn.
std::string npy_scalar(int64_t v);
std::string npy_scalar(double v);
std::string npy_bool(bool v);
std::string npy_unicode(const std::string& ascii);
std::string npy_bytes_scalar(const std::string& bytes);

}  // namespace vidrec
