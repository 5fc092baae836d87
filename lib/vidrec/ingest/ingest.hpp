// SPDX-License-Identifier: MIT
// Ingest: raw interaction logs (CSV) -> validated rows, every bad row counted.
//
// Contract
// - Schema: userId,videoId,interactionType,interactionValue,location,timestamp.
// - RFC 4180 quoting within a line ("" escapes a quote, quoted fields may hold
//   commas); LF or CRLF; blank lines skipped; spaces/tabs around fields trimmed;
//   a UTF-8 BOM is skipped; the first non-blank line of each input is a header
//   when its first two fields are userId,videoId (case-insensitive).
// - Inputs are files or "-" (stdin); gzip data is detected by its magic bytes
//   and decompressed on the fly, so rotated `.gz` logs need no flag.
// - A row is rejected for exactly one reason, checked in the order of Reject.
//   Nothing is dropped silently: rows are either valid (and then used or
//   ignored by type) or rejected, and lines = blank + headers + valid + rejected.
// - The interaction weight is the row's interactionValue, unless the row's type
//   has an override. Timestamps are UTC seconds since the epoch.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace vidrec {

enum class Reject : uint8_t {
  TooFewFields,
  TooManyFields,
  EmptyUser,
  EmptyVideo,
  NonNumericValue,
  NonFiniteValue,
  BadTimestamp,
};
constexpr size_t kRejectKinds = 7;
const char* reject_code(Reject r);

// One validated row. Views point into parser-owned storage, valid until the
// next parse.
struct Row {
  std::string_view user, video, type, location;
  double value = 0;
  int64_t timestamp = 0;
};

// Splits one line (without its newline) into fields. Returns the number of
// fields found (it keeps counting past `max`, storing only the first `max`).
size_t split_csv_line(std::string_view line, std::string_view* fields, size_t max,
                      std::vector<std::string>& unquote_storage);

// The last date parsed, so a run of rows from one day validates it once.
struct DateCache {
  char date[10] = {};
  int64_t days = 0;
  bool valid = false;
};
// "YYYY-MM-DD HH:MM:SS", "YYYY-MM-DDTHH:MM:SS[Z]" or integer epoch seconds.
bool parse_timestamp(std::string_view s, int64_t& out, DateCache* cache = nullptr);
// Formats as "YYYY-MM-DD HH:MM:SS" (UTC).
std::string format_timestamp(int64_t t);

// Where line bytes come from.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Up to `size` bytes; 0 only at the end of the input.
  virtual size_t read(char* buffer, size_t size) = 0;
  // Input consumed so far (compressed bytes for gzip), for progress.
  virtual uint64_t offset() const = 0;
};
// A file or "-" (stdin) through zlib: plain data passes through, gzip is
// inflated. Throws IoError when it cannot be opened.
std::unique_ptr<ByteSource> open_source(const std::string& path);
// Bytes in memory; `data` must outlive the source.
std::unique_ptr<ByteSource> memory_source(std::string_view data);

// What LineReader learnt of a line while finding its end: the commas (bit i
// = line[i]), and whether the line is plain, i.e. holds no quote and no space
// or tab at a field's edge, so that the commas alone split it. `known` is
// false when the line was found another way (longer than 63 bytes, at the
// end of the bytes in memory, the first line).
struct LineScan {
  bool known = false;
  bool plain = false;
  uint64_t commas = 0;
};

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
  LineReader(std::string name, std::string_view bytes);
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

enum class LineResult { Row, Blank, Header, Rejected };

// Parses lines of one input; keeps the scratch buffers between calls.
class LineParser {
 public:
  // `first` says whether this is the first non-blank line of its input;
  // `scan`, when given, must be what LineReader found for this line.
  LineResult parse(std::string_view line, bool first, Row& row, Reject& why, const LineScan* scan = nullptr);

 private:
  std::array<std::string_view, 7> fields_;
  std::vector<std::string> storage_;
  DateCache dates_;
};

struct IngestOptions {
  std::map<std::string, double, std::less<>> type_weights;  // --weight TYPE=W
  std::set<std::string, std::less<>> ignore_types;          // --ignore-type TYPE
  bool strict = false;                                      // throw InputError at the first bad row
  std::ostream* rejects = nullptr;                          // "file:line<TAB>reason<TAB>text" per reject
  bool progress = true;                                     // report progress on stderr
};

struct IngestStats {
  uint64_t lines = 0;
  uint64_t blank_lines = 0;
  uint64_t header_lines = 0;
  uint64_t rows_valid = 0;    // parsed correctly (including ignored types)
  uint64_t rows_ignored = 0;  // valid, dropped by --ignore-type
  std::array<uint64_t, kRejectKinds> rejected{};
  double value_sum = 0;  // sum of weights of the rows used
  uint64_t bytes = 0;    // bytes read from the inputs (compressed size for gzip)
  uint64_t rows_malformed() const;
};

// Receives every used row (valid, not ignored).
class RowSink {
 public:
  virtual ~RowSink() = default;
  virtual void add(const Row& row, double weight) = 0;
};

// Reads one input ("-" = stdin) into `sink`, adding to `stats`. Throws IoError
// when the input cannot be read (including corrupt gzip data) and InputError
// under options.strict.
void ingest_file(const std::string& path, const IngestOptions& options, RowSink& sink, IngestStats& stats);
// Same, over bytes already in memory (tests, fuzzing).
void ingest_buffer(const std::string& name, std::string_view data, const IngestOptions& options,
                   RowSink& sink, IngestStats& stats);

}  // namespace vidrec
