// SPDX-License-Identifier: MIT
#include "vidrec/serve/mhd.hpp"

#include "vidrec/base/dynlib.hpp"

namespace vidrec {

namespace {

MhdLibrary load() {
  // The ABI version of every libmicrohttpd since 0.9.44 (Debian 12: 0.9.75).
  const DynamicLibrary lib("libmicrohttpd.so.12", "libmicrohttpd12");
  MhdLibrary m{};
#define VIDREC_BIND(name) lib.bind(m.name, "MHD_" #name);
  VIDREC_MHD_FUNCTIONS(VIDREC_BIND)
#undef VIDREC_BIND
  return m;
}

}  // namespace

const MhdLibrary& mhd() {
  static const MhdLibrary library = load();
  return library;
}

}  // namespace vidrec
