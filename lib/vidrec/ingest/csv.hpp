// SPDX-License-Identifier: MIT
// One CSV line -> a validated row or the one reason it is rejected (the
// schema, quoting and reject order are ingest.hpp's contract).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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
                      std::vector<std::string>& unquote_storage);

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

}  // namespace vidrec
