// SPDX-License-Identifier: MIT
// libFuzzer target: the CSV ingest path (line reader, field splitter, value
// and timestamp parsers, reject accounting) on arbitrary bytes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "vidrec/ingest.hpp"

namespace {
struct Count : vidrec::RowSink {
  uint64_t rows = 0;
  void add(const vidrec::Row& r, double) override {
    if (r.user.empty() || r.video.empty()) std::abort();  // rejected rows must never get here
    ++rows;
  }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  vidrec::IngestOptions opt;
  opt.progress = false;
  opt.type_weights["like"] = 2;
  opt.ignore_types.insert("skip");
  Count sink;
  vidrec::IngestStats st;
  vidrec::ingest_buffer("fuzz.csv", text, opt, sink, st);
  // Every line lands in exactly one bucket.
  if (st.blank_lines + st.header_lines + st.rows_valid + st.rows_malformed() != st.lines) std::abort();
  if (sink.rows != st.rows_valid - st.rows_ignored) std::abort();
  return 0;
}
