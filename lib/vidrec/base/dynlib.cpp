// SPDX-License-Identifier: MIT
#include "vidrec/base/dynlib.hpp"

#include <dlfcn.h>

#include <string>

#include "vidrec/base/errors.hpp"

namespace vidrec {

DynamicLibrary::DynamicLibrary(const char* soname, const char* package)
    : handle_(::dlopen(soname, RTLD_NOW | RTLD_LOCAL)), soname_(soname), package_(package) {
  if (!handle_)
    throw IoError(std::string("cannot load ") + soname + ": " + ::dlerror() + " (apt-get install " + package +
                  ")");
}

void* DynamicLibrary::find(const char* name) const { return ::dlsym(handle_, name); }

void* DynamicLibrary::symbol(const char* name) const {
  void* p = find(name);
  if (!p) throw IoError(std::string(soname_) + ": no " + name + " (apt-get install " + package_ + ")");
  return p;
}

}  // namespace vidrec
