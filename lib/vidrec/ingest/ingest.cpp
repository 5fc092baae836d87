// SPDX-License-Identifier: MIT
#include "vidrec/ingest/ingest.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <numeric>

#include "vidrec/base/errors.hpp"
#include "vidrec/base/progress.hpp"
#include "vidrec/ingest/line_reader.hpp"

namespace vidrec {

uint64_t IngestStats::rows_malformed() const {
  return std::accumulate(rejected.begin(), rejected.end(), uint64_t{0});
}

void IngestStats::add(const IngestStats& later) {
  if (one_field_lines == 0) other_delimiter = later.other_delimiter;  // the first such line's
  lines += later.lines;
  blank_lines += later.blank_lines;
  header_lines += later.header_lines;
  rows_valid += later.rows_valid;
  rows_ignored += later.rows_ignored;
  for (size_t i = 0; i < kRejectKinds; ++i) rejected[i] += later.rejected[i];
  value_total.add(later.value_total);
  value_sum = value_total.hi;  // the exact sum rounded once (canonical hi)
  bytes += later.bytes;
  one_field_lines += later.one_field_lines;
}

namespace {

std::string count_str(uint64_t n) {
  char buf[32];
  if (n >= 1000000)
    std::snprintf(buf, sizeof buf, "%.1fM", double(n) / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
  return buf;
}

// The first non-blank line: refused when it shows the input is not a log,
// else parsed, perhaps as the header; errors name the file and line.
LineResult parse_first(LineParser& parser, std::string_view line, const std::string& where,
                       const IngestOptions& opt, Row& row, Reject& why) {
  for (const char* magic : {"VRDS", "VRMD"})
    if (line.substr(0, 4) == magic)
      throw InputError(where + ": this is a vidrec " + (magic[2] == 'D' ? "dataset" : "model") +
                       " file, not a log (prepare reads CSV interaction logs)");
  // A lone CR in the first line means CR-only (classic Mac) line endings:
  // the whole input would be one line, silently taken as a header or one
  // reject. We split on LF only, so refuse the input instead.
  if (std::memchr(line.data(), '\r', line.size()))
    throw InputError(where +
                     ": carriage return inside a line: CR-only line endings are not supported "
                     "(convert with: tr '\\r' '\\n')");
  LineResult r;
  try {
    r = parser.parse(line, true, row, why);
  } catch (const InputError& e) {
    throw InputError(where + ": " + e.what());
  }
  if ((!opt.type_weights.empty() || !opt.ignore_types.empty()) && !parser.columns().has(Column::Type))
    throw InputError(where +
                     ": --weight and --ignore-type need an interactionType column, which this input lacks");
  return r;
}

// Why a rejected line has one field: another delimiter it holds, if any.
char other_delimiter(std::string_view line, char used) {
  for (char d : {',', '\t', ';', '|'})
    if (d != used && line.find(d) != std::string_view::npos) return d;
  return 0;
}

// The lines of `reader` (all of an input, or a chunk of it).
void scan(LineReader& reader, const std::string& name, const IngestOptions& opt, RowSink& sink,
          IngestStats& st, LineParser& parser, bool first, Progress* progress) {
  Row row;
  Reject why{};
  const bool filter = !opt.type_weights.empty() || !opt.ignore_types.empty();
  std::string_view line;
  LineScan scan;
  while (reader.next(line, &scan)) {
    ++st.lines;
    if (progress && (st.lines & 0xffff) == 0)
      progress->update(reader.offset(),
                      human_bytes(double(reader.offset())) + ", " + count_str(st.rows_valid) + " rows");
    const LineResult result =
        first ? parse_first(parser, line, name + ":" + std::to_string(reader.line_number()), opt, row, why)
              : parser.parse(line, false, row, why, &scan);
    switch (result) {
      case LineResult::Blank:
        ++st.blank_lines;
        continue;
      case LineResult::Header:
        ++st.header_lines;
        break;
      case LineResult::Rejected: {
        ++st.rejected[size_t(why)];
        if (parser.fields() == 1 && ++st.one_field_lines == 1)
          st.other_delimiter = other_delimiter(line, parser.delimiter());
        const uint64_t lineno = reader.line_number();
        if (opt.rejects)
          *opt.rejects << name << ':' << lineno << '\t' << reject_code(why) << '\t' << line << '\n';
        if (opt.strict)
          throw InputError(name + ":" + std::to_string(lineno) + ": " + reject_code(why) +
                           " (--strict stops at the first bad row): " + std::string(line.substr(0, 200)));
        break;
      }
      case LineResult::Row: {
        ++st.rows_valid;
        double weight = row.value;
        if (filter) {
          if (opt.ignore_types.count(row.type)) {
            ++st.rows_ignored;
            break;
          }
          auto w = opt.type_weights.find(row.type);
          if (w != opt.type_weights.end()) weight = w->second;
        }
        st.value_total.add(weight);
        sink.add(row, weight);
        break;
      }
    }
    first = false;
  }
  st.value_sum = st.value_total.hi;
}

void run(LineReader& reader, const std::string& name, const IngestOptions& opt, RowSink& sink,
         IngestStats& st, uint64_t total_bytes) {
  Progress progress("prepare " + name, total_bytes, opt.progress);
  LineParser parser(opt.layout);
  scan(reader, name, opt, sink, st, parser, true, &progress);
  st.bytes += reader.offset();
  progress.finish("");
}

}  // namespace

void ingest_file(const std::string& path, const IngestOptions& options, RowSink& sink, IngestStats& stats) {
  const std::string name = path == "-" ? "<stdin>" : path;
  struct stat st {};
  const bool regular = path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  LineReader reader(name, open_source(path));
  run(reader, name, options, sink, stats, regular ? uint64_t(st.st_size) : 0);
}

void ingest_buffer(const std::string& name, std::string_view data, const IngestOptions& options,
                   RowSink& sink, IngestStats& stats) {
  LineReader reader(name, data);
  run(reader, name, options, sink, stats, 0);
}

void ingest_chunk(const std::string& name, std::string_view chunk, uint64_t lines_before, bool first,
                  LineParser& parser, const IngestOptions& options, RowSink& sink, IngestStats& stats) {
  LineReader reader(name, chunk, lines_before);
  scan(reader, name, options, sink, stats, parser, first, nullptr);
}

}  // namespace vidrec
