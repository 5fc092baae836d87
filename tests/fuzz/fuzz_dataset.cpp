// SPDX-License-Identifier: MIT
// libFuzzer target: the dataset file reader. Any input is either refused with
// FormatError or yields a dataset whose every array access stays in bounds.
#include <cstdint>
#include <cstdio>
#include <vector>

#include "reseal.hpp"
#include "vidrec/dataset/dataset.hpp"
#include "vidrec/base/errors.hpp"

namespace {
void load(std::vector<char> bytes) {
  try {
    const vidrec::Dataset ds =
        vidrec::Dataset::from_file(vidrec::MappedFile::from_bytes("fuzz.vrd", std::move(bytes)));
    uint64_t sum = 0;
    const vidrec::CsrView rows = ds.user_items(), cols = ds.item_users();
    for (uint32_t u = 0; u < ds.n_users(); ++u) {
      sum += ds.user_id(u).size();
      for (uint64_t k = rows.row_begin(u); k < rows.row_end(u); ++k)
        sum += ds.video_id(rows.indices[k]).size() + ds.events()[k] + uint64_t(ds.last_ts()[k]);
    }
    for (uint32_t v = 0; v < ds.n_videos(); ++v)
      for (uint64_t k = cols.row_begin(v); k < cols.row_end(v); ++k)
        sum += ds.user_id(cols.indices[k]).size();
    if (ds.n_users()) sum += ds.find_user(ds.user_id(0)).value_or(0);
    if (sum == 42) std::puts("");  // keeps the reads from being optimised away
  } catch (const vidrec::FormatError&) {
  }
}
}  // namespace

// Each input as it is, and resealed so it gets past the checksums.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<char> bytes(data, data + size);
  load(bytes);
  vidrec::fuzz::reseal(bytes);
  load(std::move(bytes));
  return 0;
}
