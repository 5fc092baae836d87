// SPDX-License-Identifier: MIT
#include "vidrec/serve/mhd.hpp"

#include <dlfcn.h>

#include <string>

#include "vidrec/base/errors.hpp"

namespace vidrec {

namespace {

// The ABI version of every libmicrohttpd since 0.9.44 (Debian 12: 0.9.75).
constexpr const char* kSoname = "libmicrohttpd.so.12";

template <class F>
void bind(void* lib, F& f, const char* name) {
  f = reinterpret_cast<F>(::dlsym(lib, name));
  if (!f) throw IoError(std::string(kSoname) + ": no " + name + " (apt-get install libmicrohttpd12)");
}

MhdLibrary load() {
  // Never closed: the server's threads run inside it until exit.
  void* lib = ::dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    throw IoError(std::string("cannot load the HTTP server library: ") + ::dlerror() +
                  " (apt-get install libmicrohttpd12)");
  MhdLibrary m{};
  bind(lib, m.start_daemon, "MHD_start_daemon");
  bind(lib, m.stop_daemon, "MHD_stop_daemon");
  bind(lib, m.quiesce_daemon, "MHD_quiesce_daemon");
  bind(lib, m.run, "MHD_run");
  bind(lib, m.get_timeout, "MHD_get_timeout");
  bind(lib, m.get_daemon_info, "MHD_get_daemon_info");
  bind(lib, m.get_connection_info, "MHD_get_connection_info");
  bind(lib, m.lookup_connection_value, "MHD_lookup_connection_value");
  bind(lib, m.suspend_connection, "MHD_suspend_connection");
  bind(lib, m.resume_connection, "MHD_resume_connection");
  bind(lib, m.create_response_from_buffer, "MHD_create_response_from_buffer");
  bind(lib, m.add_response_header, "MHD_add_response_header");
  bind(lib, m.queue_response, "MHD_queue_response");
  bind(lib, m.destroy_response, "MHD_destroy_response");
  return m;
}

}  // namespace

const MhdLibrary& mhd() {
  static const MhdLibrary library = load();
  return library;
}

}  // namespace vidrec
