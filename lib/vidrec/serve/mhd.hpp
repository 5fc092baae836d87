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

struct MhdLibrary {
  decltype(&::MHD_start_daemon) start_daemon;
  decltype(&::MHD_stop_daemon) stop_daemon;
  decltype(&::MHD_quiesce_daemon) quiesce_daemon;
  decltype(&::MHD_run) run;
  decltype(&::MHD_get_timeout) get_timeout;
  decltype(&::MHD_get_daemon_info) get_daemon_info;
  decltype(&::MHD_get_connection_info) get_connection_info;
  decltype(&::MHD_lookup_connection_value) lookup_connection_value;
  decltype(&::MHD_suspend_connection) suspend_connection;
  decltype(&::MHD_resume_connection) resume_connection;
  decltype(&::MHD_create_response_from_buffer) create_response_from_buffer;
  decltype(&::MHD_add_response_header) add_response_header;
  decltype(&::MHD_queue_response) queue_response;
  decltype(&::MHD_destroy_response) destroy_response;
};

const MhdLibrary& mhd();

}  // namespace vidrec
