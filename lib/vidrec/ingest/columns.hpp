// SPDX-License-Identifier: MIT
// Which field of a log line holds which column, and what separates fields.
//
// Contract
// - Columns are named by a header line, matched case-insensitively with '_',
//   '-' and spaces ignored, through aliases (column_for_name): userId/user_id/
//   user, videoId/itemId/video/item, interactionType/type/event,
//   interactionValue/value, location, timestamp/time/ts.
// - A first line is a header when it is not a valid row and at least two of
//   its fields name columns; other fields are ignored. user, video, value and timestamp are required
//   (the ids, the weight and the times the dataset stores per pair); type and
//   location are optional (empty when absent). A header without a required
//   column, or naming one twice, is an InputError listing what it found.
// - --columns (parse_columns) gives the order of every input: a header line is
//   then skipped, not read (an escape for headers this naming does not fit).
//   Without it a headerless log is read in the documented order:
//   userId,videoId,interactionType,interactionValue,location,timestamp.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vidrec {

enum class Column : uint8_t { User, Video, Type, Value, Location, Time };
constexpr size_t kColumns = 6;
// "user", "video", "type", "value", "location", "time".
const char* column_name(Column c);

// Where each column lies in a line of `width` fields; -1: absent (only type
// and location may be).
struct ColumnMap {
  std::array<int, kColumns> at{0, 1, 2, 3, 4, 5};
  size_t width = kColumns;
  // The documented order and nothing else: lines are read without remapping.
  bool standard() const { return width == kColumns && at == ColumnMap{}.at; }
  bool has(Column c) const { return at[size_t(c)] >= 0; }
};

// Headers wider than this are not taken as headers (a hostile one-line file
// of commas would otherwise size the parser's field table).
constexpr size_t kMaxHeaderFields = 4096;

// The column a name denotes, or nullopt.
std::optional<Column> column_for_name(std::string_view name);

// Whether a first line's `n` fields are a header.
bool is_header(const std::string_view* fields, size_t n);
// The map a header line's `n` fields give, or nullopt when the line is not a
// header. Throws InputError (without file or line: the caller adds them).
std::optional<ColumnMap> header_map(const std::string_view* fields, size_t n);

// --columns "user,video,type,value,location,time": the names in any order,
// aliases allowed, "-" for a field to skip. Throws ConfigError.
ColumnMap parse_columns(std::string_view spec);

// --delimiter: ",", ";", "|" or a tab (written "\t", "tab" or a real tab).
// Throws ConfigError.
char parse_delimiter(std::string_view spec);

// How a delimiter is written in messages: "','" or "'\t'".
std::string delimiter_name(char d);

}  // namespace vidrec
