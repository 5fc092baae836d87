// SPDX-License-Identifier: MIT
// Ingest: raw interaction logs (CSV) -> validated rows, every bad row counted.
//
// Contract
// - Schema: userId,videoId,interactionType,interactionValue,location,timestamp,
//   in any order when a header names them (columns.hpp). Each input's first
//   non-blank line may be a header, read on its own: rotated logs may differ.
// - Fields are separated by commas, or by the delimiter given, or by the one
//   the input's header reads with (',', tab, ';', '|').
// - RFC 4180 quoting within a line ("" escapes a quote, quoted fields may hold
//   delimiters); LF or CRLF (a CR inside an input's first non-blank line means
//   CR-only endings: InputError, not one giant line); blank lines skipped; spaces/tabs around fields trimmed;
//   a UTF-8 BOM is skipped.
// - An input that starts with a vidrec container's magic (a dataset or model
//   file passed by mistake) is an InputError, as is a header without a
//   required column, and --weight or --ignore-type on an input without a type
//   column (they would match nothing).
// - Inputs are files or "-" (stdin); gzip data is detected by its magic bytes
//   and decompressed on the fly, so rotated `.gz` logs need no flag; members
//   may be concatenated, anything else after gzip data is an InputError.
// - A row is rejected for exactly one reason, checked in the order of Reject (csv.hpp).
//   Nothing is dropped silently: rows are either valid (and then used or
//   ignored by type) or rejected, and lines = blank + headers + valid + rejected.
// - The interaction weight is the row's interactionValue, unless the row's type
//   has an override. Timestamps are UTC seconds since the epoch.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <string_view>

#include "vidrec/base/exact_sum.hpp"
#include "vidrec/ingest/csv.hpp"
#include "vidrec/ingest/row.hpp"

namespace vidrec {

struct IngestOptions {
  std::map<std::string, double, std::less<>> type_weights;  // --weight TYPE=W
  std::set<std::string, std::less<>> ignore_types;          // --ignore-type TYPE
  bool strict = false;                                      // throw InputError at the first bad row
  std::ostream* rejects = nullptr;                          // "file:line<TAB>reason<TAB>text" per reject
  bool progress = true;                                     // report progress on stderr
  Layout layout;                                            // --delimiter, --columns
};

struct IngestStats {
  uint64_t lines = 0;
  uint64_t blank_lines = 0;
  uint64_t header_lines = 0;
  uint64_t rows_valid = 0;    // parsed correctly (including ignored types)
  uint64_t rows_ignored = 0;  // valid, dropped by --ignore-type
  std::array<uint64_t, kRejectKinds> rejected{};
  // Sum of weights of the rows used: summed exactly (base/exact_sum.hpp,
  // within its bound) and rounded once, so it does not depend on the order
  // the rows are added in (prepare --threads).
  double value_sum = 0;
  ExactSum value_total;
  uint64_t bytes = 0;    // bytes read from the inputs (compressed size for gzip)
  // For the message of a run without a valid row: rejected lines that held
  // one field, and a delimiter the first of them held instead (0: none).
  uint64_t one_field_lines = 0;
  char other_delimiter = 0;
  uint64_t rows_malformed() const;
  // Adds the counts of the lines that follow (a later chunk or input).
  void add(const IngestStats& later);
};

// Reads one input ("-" = stdin) into `sink`, adding to `stats`. Throws IoError
// when the input cannot be read (including corrupt gzip data), InputError
// under options.strict, for CR-only line endings and for non-gzip bytes
// after gzip data.
void ingest_file(const std::string& path, const IngestOptions& options, RowSink& sink, IngestStats& stats);
// Same, over bytes already in memory (tests, fuzzing).
void ingest_buffer(const std::string& name, std::string_view data, const IngestOptions& options,
                   RowSink& sink, IngestStats& stats);
// One chunk of an input cut at a line end (prepare --threads): `lines_before`
// lines of the input precede it; `parser` is in the state the input's lines
// before it left it (first: a fresh one, the chunk holds the input's first
// non-blank line). Adds all counts but `bytes` to `stats`; throws as above.
void ingest_chunk(const std::string& name, std::string_view chunk, uint64_t lines_before, bool first,
                  LineParser& parser, const IngestOptions& options, RowSink& sink, IngestStats& stats);

}  // namespace vidrec
