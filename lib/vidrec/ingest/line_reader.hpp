// SPDX-License-Identifier: MIT
// Bytes -> lines: files, stdin or gzip streams read in large blocks, split
// at newlines without copying.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace vidrec {

// Where line bytes come from.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Up to `size` bytes; 0 only at the end of the input.
  virtual size_t read(char* buffer, size_t size) = 0;
  // Input consumed so far (compressed bytes for gzip), for progress.
  virtual uint64_t offset() const = 0;
};
// A file or "-" (stdin): plain data passes through, gzip (one member or
// several concatenated) is inflated. Throws IoError when it cannot be opened
// or the gzip data is corrupt, InputError when non-gzip bytes follow gzip data.
std::unique_ptr<ByteSource> open_source(const std::string& path);
// Bytes in memory; `data` must outlive the source.
std::unique_ptr<ByteSource> memory_source(std::string_view data);

// What LineReader learnt of a line while finding its end: the commas (bit i
// = line[i]), whether the line is plain, i.e. holds no quote and no space
// or tab at a field's edge, so that the commas alone split it, and whether
// it holds a byte >= 0x80 (`high`: only then can it be invalid UTF-8). `known` is
// false when the line was found another way (longer than 63 bytes, at the
// end of the bytes in memory, the first line).
struct LineScan {
  bool known = false;
  bool plain = false;
  bool high = false;
  uint64_t commas = 0;
};

// The InputError for a line of `name` (its number: `line`) over
// LineReader::kMaxLine bytes.
[[noreturn]] void throw_long_line(const std::string& name, uint64_t line);

// Splits a byte stream into lines: LF or CRLF (one CR before the LF is
// dropped); a UTF-8 BOM at the start is skipped; a last line without newline
// counts; NUL bytes stay part of the line. Lines over kMaxLine throw
// InputError. A line is found with one SIMD look at the 64 bytes where it
// starts, which also finds its commas and quotes (LineScan), else with
// memchr. (fccp's io::LineReader, which the tests use as the reference, scans
// byte by byte: 0.95 s for a 454 MB log against 0.17 s for the memchr loop;
// see README.)
class LineReader {
 public:
  static constexpr size_t kMaxLine = size_t(64) << 20;
  // `buffer` bytes are read at a time (more when a line is longer); tests
  // pass small sizes so lines straddle the refills.
  LineReader(std::string name, std::unique_ptr<ByteSource> source, size_t buffer = size_t(1) << 22);
  // Lines straight out of `bytes` in memory, without copying them.
  // `lines_before`: lines of the input before `bytes` (a chunk of it, cut
  // at a line end), so line numbers count from the input's start and only
  // the input's first line may lose a BOM.
  LineReader(std::string name, std::string_view bytes, uint64_t lines_before = 0);
  ~LineReader();
  // The view is valid until the next call.
  bool next(std::string_view& line, LineScan* scan = nullptr);
  uint64_t line_number() const { return line_no_; }
  uint64_t offset() const;

 private:
  void fill();
  std::string name_;
  std::unique_ptr<ByteSource> source_;
  std::vector<char> buf_;       // kSlack bytes past what is read, so a look at 64 bytes stays inside
  const char* data_ = nullptr;  // buf_, or the caller's bytes
  size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
  uint64_t line_no_ = 0;
};

}  // namespace vidrec
