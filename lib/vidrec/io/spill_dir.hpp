// SPDX-License-Identifier: MIT
// A private temporary directory for files that must not outlive the run
// (prepare's sorted runs, spill.hpp), removed on every way out.
//
// Contract
// - SpillDir(parent) creates parent/vidrec-spill.XXXXXX (mode 0700); an
//   IoError names `parent` when it cannot.
// - next_file() names a fresh file in it; files are numbered, so the signal
//   handler can find them without allocating.
// - The directory and every file in it (those next_file() named, and any
//   other a writer left there, such as an atomic writer's temporary cut short
//   by a signal) are removed by the destructor (success, or unwinding on an
//   exception) and by a SIGINT/SIGTERM handler installed for the object's
//   lifetime. The handler only calls unlink, unlinkat, getdents64, lseek,
//   rmdir, sigaction and raise (async-signal-safe system calls), then
//   re-raises the signal with the previous disposition, so the exit status
//   still says "killed by SIGTERM" (and a caller's own handler still runs).
// - One SpillDir at a time per process (the handler's state is global): a
//   second one is a std::logic_error.
#pragma once
#include <string>

namespace vidrec {

class SpillDir {
 public:
  explicit SpillDir(const std::string& parent);
  ~SpillDir();
  SpillDir(const SpillDir&) = delete;
  SpillDir& operator=(const SpillDir&) = delete;

  std::string next_file();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// $TMPDIR when set and not empty, else /tmp.
std::string default_tmp_dir();

}  // namespace vidrec
