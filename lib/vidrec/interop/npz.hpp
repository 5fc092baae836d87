// SPDX-License-Identifier: MIT
// NumPy's .npz archives (numpy.savez, savez_compressed; scipy.sparse.save_npz):
// a zip file of .npy members, read and written with libzip.
//
// Contract
// - NpzReader opens an archive (stored or deflated members, ZIP64 included,
//   as NumPy writes them) and hands out the member "KEY.npy" as the array
//   KEY, inflated into memory and parsed (npy.hpp). A file that is not a zip
//   archive, a damaged member (libzip checks each member's CRC) or a missing
//   key is a FormatError naming the file and the member.
// - write_npz writes KEY.npy members in the order given (stored like
//   numpy.savez, or deflated like savez_compressed) and replaces `path`
//   atomically (io/atomic_file.hpp). A member's array is read where it lies
//   (its `body`, borrowed), and the archive is built in memory, then written
//   in chunks: an export costs the archive's size in memory once, not more.
#pragma once
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "vidrec/interop/npy.hpp"

namespace vidrec {

class NpzReader {
 public:
  explicit NpzReader(const std::string& path);
  // Keys in the archive (member names without ".npy"), sorted.
  std::vector<std::string> keys() const;
  bool has(const std::string& key) const { return members_.count(key) != 0; }
  // The array; its bytes live as long as the reader. Throws when missing.
  NpyArray array(const std::string& key) const;
  // "PATH: KEY.npy", for messages about a member.
  std::string name(const std::string& key) const { return path_ + ": " + key + ".npy"; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::map<std::string, std::string> members_;  // key -> .npy bytes
};

// One member, KEY.npy: `head` then `body`. A small array is all head
// (npy_bytes with its data); a large one is npy_bytes' header alone, its
// elements borrowed as `body`, which must outlive write_npz.
struct NpzMember {
  std::string key;
  std::string head;
  std::string_view body{};
};
// In archive order.
using NpzMembers = std::vector<NpzMember>;
void write_npz(const std::string& path, const NpzMembers& members, bool compress);

}  // namespace vidrec
