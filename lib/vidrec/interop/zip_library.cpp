// SPDX-License-Identifier: MIT
#include "vidrec/interop/zip_library.hpp"

#include "vidrec/base/dynlib.hpp"

namespace vidrec {

namespace {

ZipLibrary load() {
  // libzip's ABI version since 1.0 (Debian 12: 1.7.3).
  const DynamicLibrary lib("libzip.so.4", "libzip4");
  ZipLibrary z{};
  lib.bind(z.close, "zip_close");
  lib.bind(z.discard, "zip_discard");
  lib.bind(z.error_fini, "zip_error_fini");
  lib.bind(z.error_init, "zip_error_init");
  lib.bind(z.error_init_with_code, "zip_error_init_with_code");
  lib.bind(z.error_set, "zip_error_set");
  lib.bind(z.error_strerror, "zip_error_strerror");
  lib.bind(z.error_to_data, "zip_error_to_data");
  lib.bind(z.fclose, "zip_fclose");
  lib.bind(z.fdopen, "zip_fdopen");
  lib.bind(z.file_add, "zip_file_add");
  lib.bind(z.file_set_mtime, "zip_file_set_mtime");
  lib.bind(z.file_strerror, "zip_file_strerror");
  lib.bind(z.fopen_index, "zip_fopen_index");
  lib.bind(z.fread, "zip_fread");
  lib.bind(z.get_num_entries, "zip_get_num_entries");
  lib.bind(z.open_from_source, "zip_open_from_source");
  lib.bind(z.set_file_compression, "zip_set_file_compression");
  lib.bind(z.source_buffer_create, "zip_source_buffer_create");
  lib.bind(z.source_close, "zip_source_close");
  lib.bind(z.source_error, "zip_source_error");
  lib.bind(z.source_free, "zip_source_free");
  lib.bind(z.source_function, "zip_source_function");
  lib.bind(z.source_keep, "zip_source_keep");
  lib.bind(z.source_make_command_bitmap, "zip_source_make_command_bitmap");
  lib.bind(z.source_open, "zip_source_open");
  lib.bind(z.source_read, "zip_source_read");
  lib.bind(z.source_stat, "zip_source_stat");
  lib.bind(z.stat_index, "zip_stat_index");
  lib.bind(z.stat_init, "zip_stat_init");
  lib.bind(z.strerror, "zip_strerror");
  return z;
}

}  // namespace

const ZipLibrary& libzip() {
  static const ZipLibrary library = load();
  return library;
}

}  // namespace vidrec
