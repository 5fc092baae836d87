// SPDX-License-Identifier: MIT
// One CSV line -> a validated row or the one reason it is rejected (the
// schema, quoting and reject order are ingest.hpp's contract).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vidrec/ingest/columns.hpp"
#include "vidrec/ingest/line_reader.hpp"
#include "vidrec/ingest/row.hpp"
#include "vidrec/ingest/timestamp.hpp"

namespace vidrec {

enum class Reject : uint8_t {
  TooFewFields,
  TooManyFields,
  EmptyUser,
  EmptyVideo,
  NonNumericValue,
  NonFiniteValue,
  BadTimestamp,
  InvalidUtf8,  // userId, videoId, interactionType or location not UTF-8
};
constexpr size_t kRejectKinds = 8;
const char* reject_code(Reject r);

// Splits one line (without its newline) into fields. Returns the number of
// fields found (it keeps counting past `max`, storing only the first `max`).
size_t split_csv_line(std::string_view line, std::string_view* fields, size_t max,
                      std::vector<std::string>& unquote_storage, char delimiter = ',');

enum class LineResult { Row, Blank, Header, Rejected };

// How the lines of an input are laid out before its header says otherwise.
struct Layout {
  char delimiter = 0;                // 0: ',' unless a header reads with '\t', ';' or '|'
  std::optional<ColumnMap> columns;  // --columns: every input's order, headers skipped
};

// Parses lines of one input; keeps the scratch buffers between calls.
class LineParser {
 public:
  explicit LineParser(const Layout& layout = {});
  // `first` says whether this is the first non-blank line of its input (the
  // one that may be a header: columns.hpp; it throws InputError for a header
  // that lacks a column); `scan`, when given, must be what LineReader found
  // for this line.
  LineResult parse(std::string_view line, bool first, Row& row, Reject& why, const LineScan* scan = nullptr);
  // Fields in the last line split (for diagnostics).
  size_t fields() const { return n_; }
  char delimiter() const { return delim_; }
  const ColumnMap& columns() const { return map_; }

 private:
  bool read_header(std::string_view line);
  void use(const ColumnMap& map);
  char delim_;
  bool detect_;
  bool fixed_;            // --columns: a header is skipped, not read
  bool standard_ = true;  // comma-separated, the documented order: the fast path
  ColumnMap map_;
  size_t n_ = 0;
  std::vector<std::string_view> fields_;
  std::array<std::string_view, kColumns> picked_;
  std::vector<std::string> storage_;
  DateCache dates_;
};

}  // namespace vidrec
