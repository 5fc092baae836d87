// SPDX-License-Identifier: MIT
// Non-owning view of a compressed sparse row matrix. The dataset file stores
// the user x video matrix in this layout and its transpose (video x user), so
// a memory-mapped dataset hands both to training without copying.
#pragma once
#include <cstdint>

namespace vidrec {

struct CsrView {
  uint32_t rows = 0;
  uint32_t cols = 0;
  const uint64_t* indptr = nullptr;   // rows + 1 offsets into indices/values
  const uint32_t* indices = nullptr;  // column of each entry, ascending within a row
  const float* values = nullptr;      // summed interaction weight of each entry

  uint64_t nnz() const { return rows ? indptr[rows] : 0; }
  uint64_t row_begin(uint32_t r) const { return indptr[r]; }
  uint64_t row_end(uint32_t r) const { return indptr[r + 1]; }
};

}  // namespace vidrec
