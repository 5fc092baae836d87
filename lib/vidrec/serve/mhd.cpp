// SPDX-License-Identifier: MIT
#include "vidrec/serve/mhd.hpp"

#include "vidrec/base/dynlib.hpp"

namespace vidrec {

namespace {

MhdLibrary load() {
  // The ABI version of every libmicrohttpd since 0.9.44 (Debian 12: 0.9.75).
  const DynamicLibrary lib("libmicrohttpd.so.12", "libmicrohttpd12");
  MhdLibrary m{};
  lib.bind(m.start_daemon, "MHD_start_daemon");
  lib.bind(m.stop_daemon, "MHD_stop_daemon");
  lib.bind(m.quiesce_daemon, "MHD_quiesce_daemon");
  lib.bind(m.run, "MHD_run");
  lib.bind(m.get_timeout, "MHD_get_timeout");
  lib.bind(m.get_daemon_info, "MHD_get_daemon_info");
  lib.bind(m.get_connection_info, "MHD_get_connection_info");
  lib.bind(m.lookup_connection_value, "MHD_lookup_connection_value");
  lib.bind(m.suspend_connection, "MHD_suspend_connection");
  lib.bind(m.resume_connection, "MHD_resume_connection");
  lib.bind(m.create_response_from_buffer, "MHD_create_response_from_buffer");
  lib.bind(m.add_response_header, "MHD_add_response_header");
  lib.bind(m.queue_response, "MHD_queue_response");
  lib.bind(m.destroy_response, "MHD_destroy_response");
  return m;
}

}  // namespace

const MhdLibrary& mhd() {
  static const MhdLibrary library = load();
  return library;
}

}  // namespace vidrec
