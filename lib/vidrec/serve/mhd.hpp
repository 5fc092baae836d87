// SPDX-License-Identifier: MIT
// libmicrohttpd, loaded with dlopen the first time a server starts. Linked
// normally, it would bring GnuTLS and its eight dependencies (libmicrohttpd
// is built with HTTPS support, unused here) into every command's start:
// about 10,000 symbol relocations, a third of `vidrec recommend`'s time
// before main.
// mhd() loads it on its first call (thread-safe, errors as dynlib.hpp) and
// returns the functions serve.cpp calls, named as in <microhttpd.h> less MHD_.
#pragma once
#include <microhttpd.h>

namespace vidrec {

// One line per function: X(name) becomes the member `name` below and its
// bind to MHD_name (a lookup in the loaded library).
#define VIDREC_MHD_FUNCTIONS(X) \
  X(start_daemon) \
  X(stop_daemon) \
  X(quiesce_daemon) \
  X(run) \
  X(get_timeout) \
  X(get_daemon_info) \
  X(get_connection_info) \
  X(lookup_connection_value) \
  X(suspend_connection) \
  X(resume_connection) \
  X(create_response_from_buffer) \
  X(add_response_header) \
  X(queue_response) \
  X(destroy_response)

struct MhdLibrary {
#define VIDREC_MHD_MEMBER(name) decltype(&::MHD_##name) name;
  VIDREC_MHD_FUNCTIONS(VIDREC_MHD_MEMBER)
#undef VIDREC_MHD_MEMBER
};

const MhdLibrary& mhd();

}  // namespace vidrec
