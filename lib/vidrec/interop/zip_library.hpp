// SPDX-License-Identifier: MIT
// libzip, loaded with dlopen the first time a .npz file is read or written
// (export, import): linked normally, it and OpenSSL's libcrypto behind it
// cost every command ~10 ms of start-up on this project's VM.
// libzip() loads it on its first call (thread-safe, errors as dynlib.hpp)
// and returns the functions npz.cpp calls, named as in <zip.h> less zip_.
#pragma once
#include <zip.h>

namespace vidrec {

struct ZipLibrary {
  decltype(&::zip_close) close;
  decltype(&::zip_discard) discard;
  decltype(&::zip_error_fini) error_fini;
  decltype(&::zip_error_init) error_init;
  decltype(&::zip_error_init_with_code) error_init_with_code;
  decltype(&::zip_error_set) error_set;
  decltype(&::zip_error_strerror) error_strerror;
  decltype(&::zip_error_to_data) error_to_data;
  decltype(&::zip_fclose) fclose;
  decltype(&::zip_fdopen) fdopen;
  decltype(&::zip_file_add) file_add;
  decltype(&::zip_file_set_mtime) file_set_mtime;
  decltype(&::zip_file_strerror) file_strerror;
  decltype(&::zip_fopen_index) fopen_index;
  decltype(&::zip_fread) fread;
  decltype(&::zip_get_num_entries) get_num_entries;
  decltype(&::zip_open_from_source) open_from_source;
  decltype(&::zip_set_file_compression) set_file_compression;
  decltype(&::zip_source_buffer_create) source_buffer_create;
  decltype(&::zip_source_close) source_close;
  decltype(&::zip_source_error) source_error;
  decltype(&::zip_source_free) source_free;
  decltype(&::zip_source_function) source_function;
  decltype(&::zip_source_keep) source_keep;
  decltype(&::zip_source_make_command_bitmap) source_make_command_bitmap;
  decltype(&::zip_source_open) source_open;
  decltype(&::zip_source_read) source_read;
  decltype(&::zip_source_stat) source_stat;
  decltype(&::zip_stat_index) stat_index;
  decltype(&::zip_stat_init) stat_init;
  decltype(&::zip_strerror) strerror;
};

const ZipLibrary& libzip();

}  // namespace vidrec
