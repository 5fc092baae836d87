// SPDX-License-Identifier: MIT
// What a path names, decided before any byte is read or written: the file an
// output really replaces (through symbolic links), whether an output would
// clobber an input or another output, and whether an input is a regular file
// rather than a device or a pipe that never ends.
#pragma once
#include <string>
#include <vector>

namespace vidrec {

// The file an output path replaces: the path itself when it is not a link,
// else the end of its chain of symbolic links, made absolute (realpath of the
// existing file, or of the directory for a file not yet there). Writers lock
// and rename over this path, so the link stays a link and writers through the
// link and through the target exclude each other. "-" stays "-". Throws
// IoError for a link loop or a missing directory.
std::string resolve_output(const std::string& path);

// An input or output named on the command line, with the option that named
// it, for messages: {"--rejects", "r.tsv"}.
struct NamedPath {
  std::string option;
  std::string path;
};

// Checks, before anything is opened for writing, that no output names an
// input (same device and inode, also through links and hard links, or the
// same resolved path), that no two outputs name the same file and that at
// most one output is stdout ("-"): each is a ConfigError (usage, exit 2). An
// existing output that is not a regular file (a device, a directory, a FIFO)
// is an IoError: it would be replaced by rename, or never written.
void check_outputs(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs);

// Opens `path` for reading, refusing anything but a regular file with an
// IoError "PATH: not a regular file (a character device)". Opens without
// blocking, so a FIFO is refused instead of waiting for a writer. Returns the
// descriptor (O_CLOEXEC, blocking).
int open_regular(const std::string& path);

// Opens an input that is read as a stream: a regular file, or a FIFO or pipe
// (process substitution gives /dev/fd/N pipes); devices, sockets and
// directories are refused with an IoError. "-" is a dup of stdin, whatever it
// is: the caller connected it.
int open_streamable(const std::string& path);

// Throws IoError unless `path` exists and is a regular file (after links).
void require_regular_file(const std::string& path);

// "a character device", "a directory", ... for messages.
std::string file_kind(unsigned mode);

}  // namespace vidrec
