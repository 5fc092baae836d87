// SPDX-License-Identifier: MIT
// libFuzzer target: the CSV ingest path (line reader, field splitter, value
// and timestamp parsers, reject accounting) on arbitrary bytes; and,
// differentially, the line reader's SIMD scan against the plain splitter.
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "vidrec/base/errors.hpp"
#include "vidrec/base/utf8.hpp"
#include "vidrec/ingest/ingest.hpp"

namespace {
struct Count : vidrec::RowSink {
  uint64_t rows = 0;
  void add(const vidrec::Row& r, double) override {
    if (r.user.empty() || r.video.empty()) std::abort();  // rejected rows must never get here
    // Nothing that JSON, float32 storage or a re-ingest would refuse.
    if (!vidrec::valid_utf8(r.user) || !vidrec::valid_utf8(r.video) || !vidrec::valid_utf8(r.type) ||
        !vidrec::valid_utf8(r.location))
      std::abort();
    if (!(std::fabs(r.value) <= double(FLT_MAX))) std::abort();
    if (r.timestamp < -62135596800 || r.timestamp > 253402300799) std::abort();
    ++rows;
  }
};
// Every line parses the same with LineReader's scan as without it, and a
// scan's comma bits are the line's commas; read from memory in place, and
// through a 100-byte buffer that lines straddle.
void check_scan(std::string_view text, bool from_source) {
  vidrec::LineReader reader = from_source ? vidrec::LineReader("fuzz.csv", vidrec::memory_source(text), 100)
                                          : vidrec::LineReader("fuzz.csv", text);
  vidrec::LineParser with, without;
  vidrec::LineScan scan;
  std::string_view line;
  bool first = true;
  try {
    while (reader.next(line, &scan)) {
      if (scan.known) {
        uint64_t commas = 0;
        for (size_t i = 0; i < line.size(); ++i) commas |= uint64_t(line[i] == ',') << i;
        if (line.size() >= 64 || commas != scan.commas) std::abort();
      }
      vidrec::Row a, b;
      vidrec::Reject why_a{}, why_b{};
      const vidrec::LineResult ra = with.parse(line, first, a, why_a, &scan);
      const vidrec::LineResult rb = without.parse(line, first, b, why_b);
      if (ra != rb) std::abort();
      if (ra == vidrec::LineResult::Rejected && why_a != why_b) std::abort();
      if (ra == vidrec::LineResult::Row &&
          (a.user != b.user || a.video != b.video || a.type != b.type || a.location != b.location ||
           !(a.value == b.value || (a.value != a.value && b.value != b.value)) || a.timestamp != b.timestamp))
        std::abort();
      if (ra != vidrec::LineResult::Blank) first = false;
    }
  } catch (const vidrec::InputError&) {
    // A first line that is a header without a required column; the run below
    // checks the message.
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  vidrec::IngestOptions opt;
  opt.progress = false;
  opt.type_weights["like"] = 2;
  opt.ignore_types.insert("skip");
  Count sink;
  vidrec::IngestStats st;
  try {
    vidrec::ingest_buffer("fuzz.csv", text, opt, sink, st);
    // Every line lands in exactly one bucket.
    if (st.blank_lines + st.header_lines + st.rows_valid + st.rows_malformed() != st.lines) std::abort();
    if (sink.rows != st.rows_valid - st.rows_ignored) std::abort();
  } catch (const vidrec::InputError& e) {
    // Refused whole only for CR-only line endings (a CR in the first non-blank
    // line), a header without a required column, a header without a type
    // column (the options above need one), or a vidrec file.
    const std::string_view what = e.what();
    if (text.find('\r') == std::string_view::npos &&
        what.find(": header line has ") == std::string_view::npos &&
        what.find("need an interactionType column") == std::string_view::npos &&
        what.find(", not a log") == std::string_view::npos)
      std::abort();
  }
  check_scan(text, false);
  check_scan(text, true);
  return 0;
}
