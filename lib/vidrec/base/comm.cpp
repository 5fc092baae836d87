// SPDX-License-Identifier: MIT
#include "vidrec/base/comm.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "vidrec/base/errors.hpp"

namespace vidrec {

namespace {

std::string exe_dir() {
  std::string buf(4096, '\0');
  const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  if (n <= 0) return ".";
  buf.resize(size_t(n));
  const size_t slash = buf.rfind('/');
  return slash == std::string::npos ? "." : buf.substr(0, slash);
}

std::unique_ptr<Comm> open_launched_comm() {
  if (!std::getenv("OMPI_COMM_WORLD_SIZE") && !std::getenv("PMIX_RANK")) return nullptr;
  std::vector<std::string> candidates;
  if (const char* p = std::getenv("VIDREC_MPI_PLUGIN"); p && *p) candidates.emplace_back(p);
  const std::string dir = exe_dir();
  candidates.push_back(dir + "/libvidrec_mpi.so");
  candidates.push_back(dir + "/../lib/vidrec/libvidrec_mpi.so");
  std::string tried;
  for (const std::string& path : candidates) {
    if (::access(path.c_str(), F_OK) != 0) {
      tried += (tried.empty() ? "" : ", ") + path;
      continue;
    }
    // RTLD_GLOBAL: Open MPI's own components resolve symbols of libmpi.
    void* lib = ::dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (!lib) throw IoError(path + ": cannot load the MPI plugin: " + ::dlerror());
    const auto create = reinterpret_cast<CommFactory>(::dlsym(lib, kCommFactorySymbol));
    if (!create) throw IoError(path + ": not a vidrec MPI plugin (no " + kCommFactorySymbol + ")");
    char error[512] = "";
    Comm* comm = create(error, sizeof error);
    if (!comm) throw IoError(std::string("MPI initialisation failed: ") + error);
    return std::unique_ptr<Comm>(comm);  // the plugin stays loaded until exit
  }
  throw IoError("started by an MPI launcher, but this vidrec was built without MPI support (no " + tried +
                "); install libopenmpi-dev and rebuild");
}

}  // namespace

Comm* launched_comm() {
  // Destroyed at exit, after main has printed; constructed after the plugin
  // loaded MPI, so finalized before MPI's own exit handlers run.
  static const std::unique_ptr<Comm> comm = open_launched_comm();
  return comm.get();
}

}  // namespace vidrec
