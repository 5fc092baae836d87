// SPDX-License-Identifier: MIT
// Typed errors thrown by the library. Only apps/ turns them into messages and
// exit codes: every error here is a runtime/data error (exit 1); usage errors
// are caught by the command-line parser (exit 2) or raised as ConfigError.
#pragma once
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace vidrec {

// Bad input data: a malformed row under --strict, too many rejects, unknown ids.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A vidrec file that is not one, is truncated, corrupt or from a newer version.
struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The operating system refused: open, write, fsync, rename, lock.
struct IoError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An option value that breaks a rule (e.g. "factors must be >= 1, got 0").
// apps/ maps it to the usage exit code 2.
struct ConfigError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// A failure of a distributed job that its rank 0 reports: the other ranks
// exit with exit_code and print nothing, so the message appears once.
struct ReportedElsewhere : std::runtime_error {
  ReportedElsewhere(const std::string& what, int code) : std::runtime_error(what), exit_code(code) {}
  int exit_code;
};

// "PATH: WHAT: strerror(errno)", the message of an IoError after a failed call.
inline std::string sys_error(const std::string& what, const std::string& path) {
  return path + ": " + what + ": " + std::strerror(errno);
}

}  // namespace vidrec
