// SPDX-License-Identifier: MIT
// libFuzzer target: the .npy reader of `vidrec import` (interop/npy.hpp).
// Any bytes either parse or raise FormatError; a parsed array converts (or is
// refused) without reading past the bytes it was given.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "vidrec/base/errors.hpp"
#include "vidrec/interop/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A copy of exactly `size` bytes, so ASan sees any read past the end.
  const std::vector<char> bytes(data, data + size);
  try {
    const vidrec::NpyArray a = vidrec::parse_npy(bytes.data(), bytes.size(), "fuzz.npy");
    if (a.data_size > bytes.size()) std::abort();
    try {
      (void)vidrec::float_matrix(a, "fuzz.npy");
    } catch (const vidrec::FormatError&) {
    }
    try {
      (void)vidrec::npy_number(a, "fuzz.npy");
    } catch (const vidrec::FormatError&) {
    }
    try {
      (void)vidrec::npy_string(a, "fuzz.npy");
    } catch (const vidrec::FormatError&) {
    }
  } catch (const vidrec::FormatError&) {
  }
  return 0;
}
