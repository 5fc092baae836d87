// SPDX-License-Identifier: MIT
#include "vidrec/interop/npy.hpp"

#include <cmath>
#include <cstring>

#include "vidrec/base/errors.hpp"

namespace vidrec {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the .npy code assumes a little-endian host");

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr size_t kAlign = 64;         // numpy's ARRAY_ALIGN
constexpr size_t kGrowthDigits = 21;  // numpy's GROWTH_AXIS_MAX_DIGITS

[[noreturn]] void bad(const std::string& name, const std::string& why) {
  throw FormatError(name + ": " + why);
}

std::string shape_repr(const std::vector<uint64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

// The header dict in the Python literal syntax numpy writes (repr of a dict
// of str, bool and a tuple of ints; Python 2's "3L" included).
class HeaderParser {
 public:
  HeaderParser(const char* p, const char* end, const std::string& name) : p_(p), end_(end), name_(name) {}

  void parse(NpyArray& a) {
    bool descr = false, order = false, shape = false;
    expect('{');
    while (skip_ws(), peek() != '}') {
      const std::string key = string_literal();
      skip_ws();
      expect(':');
      skip_ws();
      if (key == "descr" && !descr) {
        descr = true;
        if (peek() != '\'' && peek() != '"') bad(name_, "header: structured dtypes are not supported");
        parse_descr(string_literal(), a);
      } else if (key == "fortran_order" && !order) {
        order = true;
        a.fortran_order = boolean();
      } else if (key == "shape" && !shape) {
        shape = true;
        a.shape = tuple();
      } else {
        bad(name_, "header: unexpected or repeated key '" + key + "'");
      }
      skip_ws();
      if (peek() == ',')
        ++p_;
      else if (peek() != '}')
        bad(name_, "header: expected ',' or '}' after '" + key + "'");
    }
    ++p_;
    skip_ws();
    if (p_ != end_) bad(name_, "header: bytes after the closing '}'");
    if (!descr || !order || !shape) bad(name_, "header: descr, fortran_order and shape are all required");
  }

 private:
  char peek() const { return p_ < end_ ? *p_ : '\0'; }
  void skip_ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\t' || *p_ == '\r')) ++p_;
  }
  void expect(char c) {
    if (peek() != c) bad(name_, std::string("header: expected '") + c + "'");
    ++p_;
  }
  std::string string_literal() {
    const char q = peek();
    if (q != '\'' && q != '"') bad(name_, "header: expected a quoted key or value");
    const char* b = ++p_;
    while (p_ < end_ && *p_ != q && *p_ != '\\') ++p_;
    if (peek() != q) bad(name_, "header: unterminated or escaped string");
    return std::string(b, p_++);
  }
  bool boolean() {
    for (const char* w : {"True", "False"})
      if (size_t(end_ - p_) >= std::strlen(w) && std::memcmp(p_, w, std::strlen(w)) == 0) {
        p_ += std::strlen(w);
        return w[0] == 'T';
      }
    bad(name_, "header: fortran_order must be True or False");
  }
  std::vector<uint64_t> tuple() {
    std::vector<uint64_t> dims;
    expect('(');
    while (skip_ws(), peek() != ')') {
      if (peek() < '0' || peek() > '9') bad(name_, "header: shape must be a tuple of non-negative integers");
      uint64_t v = 0;
      for (; peek() >= '0' && peek() <= '9'; ++p_) {
        if (v > (UINT64_MAX - 9) / 10) bad(name_, "header: shape dimension too large");
        v = v * 10 + uint64_t(*p_ - '0');
      }
      if (peek() == 'L') ++p_;
      dims.push_back(v);
      skip_ws();
      if (peek() == ',')
        ++p_;
      else if (peek() != ')')
        bad(name_, "header: expected ',' or ')' in shape");
    }
    ++p_;
    return dims;
  }
  void parse_descr(const std::string& d, NpyArray& a) {
    const std::string refuse =
        "unsupported dtype '" + d + "' (vidrec reads floats, integers, bools, S and U strings)";
    if (d.size() < 3 || std::string("<>|=").find(d[0]) == std::string::npos) bad(name_, refuse);
    uint64_t n = 0;
    for (size_t i = 2; i < d.size(); ++i) {
      if (d[i] < '0' || d[i] > '9' || n > 1u << 24) bad(name_, refuse);
      n = n * 10 + uint64_t(d[i] - '0');
    }
    a.kind = d[1];
    a.big_endian = d[0] == '>';
    const bool ok = (a.kind == 'f' && (n == 4 || n == 8)) ||
                    ((a.kind == 'i' || a.kind == 'u') && (n == 1 || n == 2 || n == 4 || n == 8)) ||
                    (a.kind == 'b' && n == 1) || ((a.kind == 'S' || a.kind == 'U') && n >= 1);
    if (!ok) bad(name_, refuse);
    a.item_size = uint32_t(a.kind == 'U' ? n * 4 : n);
  }

  const char* p_;
  const char* end_;
  const std::string& name_;
};

uint64_t read_le(const char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t(uint8_t(p[i])) << (8 * i);
  return v;
}

// Element i, its bytes in host (little-endian) order.
void element(const NpyArray& a, uint64_t i, void* out) {
  const char* p = a.data + i * a.item_size;
  if (!a.big_endian) {
    std::memcpy(out, p, a.item_size);
    return;
  }
  for (uint32_t k = 0; k < a.item_size; ++k) static_cast<char*>(out)[k] = p[a.item_size - 1 - k];
}

double as_double(const NpyArray& a, uint64_t i) {
  char buf[8] = {};
  element(a, i, buf);
  if (a.kind == 'f') {
    if (a.item_size == 4) {
      float f;
      std::memcpy(&f, buf, 4);
      return f;
    }
    double d;
    std::memcpy(&d, buf, 8);
    return d;
  }
  uint64_t u = read_le(buf, a.item_size);
  if (a.kind == 'i' && a.item_size < 8 && (u >> (8 * a.item_size - 1)))  // sign-extend
    u |= ~uint64_t(0) << (8 * a.item_size);
  return a.kind == 'i' ? double(int64_t(u)) : double(u);
}

std::string descr_of(const NpyArray& a) {
  return std::string(1, a.big_endian ? '>' : '<') + a.kind +
         std::to_string(a.kind == 'U' ? a.item_size / 4 : a.item_size);
}

void need_scalar(const NpyArray& a, const std::string& name) {
  if (!a.shape.empty()) bad(name, "expected a scalar (shape ()), got shape " + shape_repr(a.shape));
}

}  // namespace

uint64_t NpyArray::elements() const {
  uint64_t n = 1;
  for (const uint64_t d : shape) n = d == 0 || n <= UINT64_MAX / d ? n * d : UINT64_MAX;
  return n;
}

NpyArray parse_npy(const char* bytes, size_t size, const std::string& name) {
  if (size < kMagicLen + 2 || std::memcmp(bytes, kMagic, kMagicLen) != 0)
    bad(name, "not a .npy file (no \\x93NUMPY magic)");
  const int major = uint8_t(bytes[6]);
  if (major < 1 || major > 3) bad(name, "unsupported .npy format version " + std::to_string(major));
  const size_t len_bytes = major == 1 ? 2 : 4, prefix = kMagicLen + 2 + len_bytes;
  if (size < prefix) bad(name, "truncated .npy header");
  const uint64_t header_len = read_le(bytes + kMagicLen + 2, len_bytes);
  if (header_len > size - prefix) bad(name, "truncated .npy header");
  NpyArray a;
  HeaderParser(bytes + prefix, bytes + prefix + header_len, name).parse(a);
  const uint64_t n = a.elements(), have = size - prefix - header_len;
  if (n == UINT64_MAX || (n && a.item_size > UINT64_MAX / n))
    bad(name, "shape " + shape_repr(a.shape) + " too large");
  const uint64_t want = n * a.item_size;
  if (have < want)
    bad(name, "truncated: shape " + shape_repr(a.shape) + " of " + descr_of(a) + " needs " +
                  std::to_string(want) + " data bytes, the file has " + std::to_string(have));
  if (have > want) bad(name, std::to_string(have - want) + " bytes after the array's data");
  a.data = bytes + prefix + header_len;
  a.data_size = want;
  return a;
}

std::vector<float> float_matrix(const NpyArray& a, const std::string& name) {
  if (a.shape.size() != 2) bad(name, "expected a 2-D array, got shape " + shape_repr(a.shape));
  if (a.kind != 'f') bad(name, "dtype " + descr_of(a) + ": expected float32 or float64");
  const uint64_t rows = a.shape[0], cols = a.shape[1];
  std::vector<float> out(rows * cols);
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t c = 0; c < cols; ++c) {
      const double v = as_double(a, a.fortran_order ? c * rows + r : r * cols + c);
      const float f = float(v);
      if (!std::isfinite(f))
        bad(name, "row " + std::to_string(r) + " column " + std::to_string(c) + " is " +
                      (std::isnan(v)   ? "NaN"
                       : std::isinf(v) ? "infinite"
                                       : "beyond float32's range"));
      out[r * cols + c] = f;
    }
  return out;
}

double npy_number(const NpyArray& a, const std::string& name) {
  need_scalar(a, name);
  if (a.kind == 'S' || a.kind == 'U') bad(name, "dtype " + descr_of(a) + ": expected a number");
  return a.kind == 'b' ? double(a.data[0] != 0) : as_double(a, 0);
}

std::string npy_string(const NpyArray& a, const std::string& name) {
  need_scalar(a, name);
  std::string s;
  if (a.kind == 'S') {
    s.assign(a.data, a.item_size);
  } else if (a.kind == 'U') {
    for (uint32_t i = 0; i < a.item_size / 4; ++i) {
      char buf[4];
      element(NpyArray{'u', 4, a.big_endian, false, {}, a.data + 4 * i, 4}, 0, buf);
      const uint64_t c = read_le(buf, 4);
      if (c > 127) bad(name, "a non-ASCII string");
      s += char(c);
    }
  } else {
    bad(name, "dtype " + descr_of(a) + ": expected a string");
  }
  while (!s.empty() && s.back() == '\0') s.pop_back();
  return s;
}

std::string npy_bytes(const std::string& descr, const std::vector<uint64_t>& shape, const void* data,
                      size_t size) {
  // numpy's _write_array_header: the dict, room for the first axis to grow
  // to 21 digits, then spaces and '\n' up to a multiple of 64 bytes.
  std::string dict =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_repr(shape) + ", }";
  if (!shape.empty()) dict.append(kGrowthDigits - std::to_string(shape[0]).size(), ' ');
  const uint64_t hlen = dict.size() + 1;
  size_t len_bytes = 2;
  uint64_t pad = kAlign - (kMagicLen + 2 + len_bytes + hlen) % kAlign;
  if (hlen + pad > 65535) {
    len_bytes = 4;
    pad = kAlign - (kMagicLen + 2 + len_bytes + hlen) % kAlign;
  }
  std::string out(kMagic, kMagicLen);
  out += char(len_bytes == 2 ? 1 : 2);
  out += '\0';
  for (size_t i = 0; i < len_bytes; ++i) out += char(((hlen + pad) >> (8 * i)) & 0xff);
  out += dict;
  out.append(pad, ' ');
  out += '\n';
  out.append(static_cast<const char*>(data), size);
  return out;
}

std::string npy_scalar(int64_t v) { return npy_bytes("<i8", {}, &v, 8); }
std::string npy_scalar(double v) { return npy_bytes("<f8", {}, &v, 8); }
std::string npy_bool(bool v) {
  const char b = v ? 1 : 0;
  return npy_bytes("|b1", {}, &b, 1);
}
std::string npy_unicode(const std::string& ascii) {
  std::string ucs4;
  for (const char c : ascii) ucs4 += std::string{c, '\0', '\0', '\0'};
  if (ucs4.empty()) ucs4.assign(4, '\0');  // numpy's '' is <U1
  return npy_bytes("<U" + std::to_string(ucs4.size() / 4), {}, ucs4.data(), ucs4.size());
}
std::string npy_bytes_scalar(const std::string& bytes) {
  return npy_bytes("|S" + std::to_string(bytes.empty() ? 1 : bytes.size()), {},
                   bytes.empty() ? "" : bytes.data(), bytes.empty() ? 1 : bytes.size());
}

}  // namespace vidrec
