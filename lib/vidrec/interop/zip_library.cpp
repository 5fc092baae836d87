// SPDX-License-Identifier: MIT
#include "vidrec/interop/zip_library.hpp"

#include "vidrec/base/dynlib.hpp"

namespace vidrec {

namespace {

ZipLibrary load() {
  // libzip's ABI version since 1.0 (Debian 12: 1.7.3).
  const DynamicLibrary lib("libzip.so.4", "libzip4");
  ZipLibrary z{};
#define VIDREC_BIND(name) lib.bind(z.name, "zip_" #name);
  VIDREC_ZIP_FUNCTIONS(VIDREC_BIND)
#undef VIDREC_BIND
  return z;
}

}  // namespace

const ZipLibrary& libzip() {
  static const ZipLibrary library = load();
  return library;
}

}  // namespace vidrec
