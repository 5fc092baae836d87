// SPDX-License-Identifier: MIT
// libzip, loaded with dlopen the first time a .npz file is read or written
// (export, import): linked normally, it and OpenSSL's libcrypto behind it
// cost every command ~10 ms of start-up on this project's VM.
// libzip() loads it on its first call (thread-safe, errors as dynlib.hpp)
// and returns the functions npz.cpp calls, named as in <zip.h> less zip_.
#pragma once
#include <zip.h>

namespace vidrec {

// One line per function: X(name) becomes the member `name` below and its
// bind to zip_name (a lookup in the loaded library).
#define VIDREC_ZIP_FUNCTIONS(X) \
  X(close) \
  X(discard) \
  X(error_fini) \
  X(error_init) \
  X(error_init_with_code) \
  X(error_set) \
  X(error_strerror) \
  X(error_to_data) \
  X(fclose) \
  X(fdopen) \
  X(file_add) \
  X(file_set_mtime) \
  X(file_strerror) \
  X(fopen_index) \
  X(fread) \
  X(get_num_entries) \
  X(open_from_source) \
  X(set_file_compression) \
  X(source_buffer_create) \
  X(source_close) \
  X(source_error) \
  X(source_free) \
  X(source_function) \
  X(source_keep) \
  X(source_make_command_bitmap) \
  X(source_open) \
  X(source_read) \
  X(source_stat) \
  X(stat_index) \
  X(stat_init) \
  X(strerror)

struct ZipLibrary {
#define VIDREC_ZIP_MEMBER(name) decltype(&::zip_##name) name;
  VIDREC_ZIP_FUNCTIONS(VIDREC_ZIP_MEMBER)
#undef VIDREC_ZIP_MEMBER
};

const ZipLibrary& libzip();

}  // namespace vidrec
