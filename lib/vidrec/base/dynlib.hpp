// SPDX-License-Identifier: MIT
// A shared library loaded with dlopen on first use, for a dependency only
// one command needs (serve's HTTP server, export/import's zip): linked
// normally, its loading and symbol relocations, and those of the libraries
// behind it, would be paid by every command's start.
//
// Contract
// - The constructor loads `soname` (RTLD_NOW, local); bind() sets a function
//   pointer to the symbol `name` (its dependencies' too). Either throws
//   IoError naming the library and the Debian package to install;
//   bind_if_present() returns false instead. The library is never unloaded.
#pragma once

namespace vidrec {

class DynamicLibrary {
 public:
  DynamicLibrary(const char* soname, const char* package);
  template <class F>
  void bind(F& f, const char* name) const {
    f = reinterpret_cast<F>(symbol(name));
  }
  // Binds an optional symbol; false (f untouched) when the library lacks it.
  template <class F>
  bool bind_if_present(F& f, const char* name) const {
    void* p = find(name);
    if (p) f = reinterpret_cast<F>(p);
    return p != nullptr;
  }

 private:
  void* symbol(const char* name) const;
  void* find(const char* name) const;
  void* handle_;
  const char* soname_;
  const char* package_;
};

}  // namespace vidrec
