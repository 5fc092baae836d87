// SPDX-License-Identifier: MIT
#include "vidrec/ingest/columns.hpp"

#include <cctype>
#include <vector>

#include "vidrec/base/errors.hpp"

namespace vidrec {

namespace {

// Names as column_for_name compares them: lower case, no '_', '-' or ' '.
struct Alias {
  const char* name;
  Column column;
};
constexpr Alias kAliases[] = {
    {"userid", Column::User},
    {"user", Column::User},
    {"videoid", Column::Video},
    {"itemid", Column::Video},
    {"video", Column::Video},
    {"item", Column::Video},
    {"interactiontype", Column::Type},
    {"type", Column::Type},
    {"event", Column::Type},
    {"interactionvalue", Column::Value},
    {"value", Column::Value},
    {"location", Column::Location},
    {"timestamp", Column::Time},
    {"time", Column::Time},
    {"ts", Column::Time},
};

// The names a message suggests for a column.
const char* const kSpelled[kColumns] = {"userId/user_id/user",
                                        "videoId/video_id/itemId/item_id/video/item",
                                        "interactionType/type/event",
                                        "interactionValue/value",
                                        "location",
                                        "timestamp/time/ts"};

bool required(Column c) { return c != Column::Type && c != Column::Location; }

std::string quoted_list(const std::string_view* fields, size_t n) {
  std::string out;
  for (size_t i = 0; i < n && i < 32; ++i) {
    if (i) out += ',';
    out.append(fields[i].substr(0, 64));
  }
  if (n > 32) out += ",...";
  return "'" + out + "'";
}

// Fills `map` from the columns named at each position (nullopt: ignored).
// Returns the first problem, or "" when the map is complete.
std::string assign(const std::vector<std::optional<Column>>& named, ColumnMap& map) {
  map.at.fill(-1);
  map.width = named.size();
  for (size_t i = 0; i < named.size(); ++i) {
    if (!named[i]) continue;
    int& at = map.at[size_t(*named[i])];
    if (at >= 0)
      return std::string("column ") + column_name(*named[i]) + " appears twice (fields " +
             std::to_string(at + 1) + " and " + std::to_string(i + 1) + ")";
    at = int(i);
  }
  for (size_t c = 0; c < kColumns; ++c)
    if (map.at[c] < 0 && required(Column(c)))
      return std::string("no ") + column_name(Column(c)) + " column (" + kSpelled[c] + ")";
  return "";
}

}  // namespace

const char* column_name(Column c) {
  static const char* const names[kColumns] = {"user", "video", "type", "value", "location", "time"};
  return names[size_t(c)];
}

std::optional<Column> column_for_name(std::string_view name) {
  std::string key;
  for (char ch : name)
    if (ch != '_' && ch != '-' && ch != ' ') key += char(std::tolower(static_cast<unsigned char>(ch)));
  for (const Alias& a : kAliases)
    if (key == a.name) return a.column;
  return std::nullopt;
}

bool is_header(const std::string_view* fields, size_t n) {
  if (n > kMaxHeaderFields) return false;
  size_t known = 0;
  for (size_t i = 0; i < n && known < 2; ++i) known += column_for_name(fields[i]).has_value();
  return known >= 2;
}

std::optional<ColumnMap> header_map(const std::string_view* fields, size_t n) {
  if (!is_header(fields, n)) return std::nullopt;
  std::vector<std::optional<Column>> named(n);
  for (size_t i = 0; i < n; ++i) named[i] = column_for_name(fields[i]);
  ColumnMap map;
  const std::string problem = assign(named, map);
  if (!problem.empty())
    throw InputError("header line has " + problem + "; found " + quoted_list(fields, n) +
                     " (rename the column, or give the order with --columns)");
  return map;
}

ColumnMap parse_columns(std::string_view spec) {
  std::vector<std::optional<Column>> named;
  for (size_t start = 0;;) {
    const size_t comma = spec.find(',', start);
    const std::string_view name =
        spec.substr(start, comma == std::string_view::npos ? spec.npos : comma - start);
    if (name == "-") {
      named.emplace_back();
    } else if (auto c = column_for_name(name)) {
      named.push_back(c);
    } else {
      throw ConfigError("--columns: unknown column '" + std::string(name) +
                        "' (use user, video, type, value, location, time, or - to skip a field)");
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  ColumnMap map;
  const std::string problem = assign(named, map);
  if (!problem.empty()) throw ConfigError("--columns '" + std::string(spec) + "': " + problem);
  return map;
}

char parse_delimiter(std::string_view spec) {
  if (spec == "\t" || spec == "\\t" || spec == "tab" || spec == "TAB") return '\t';
  if (spec == "," || spec == ";" || spec == "|") return spec[0];
  throw ConfigError("--delimiter: expected ',', ';', '|' or a tab ('\\t' or tab), got '" + std::string(spec) +
                    "'");
}

std::string delimiter_name(char d) { return d == '\t' ? "'\\t'" : std::string("'") + d + "'"; }

}  // namespace vidrec
