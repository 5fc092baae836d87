// SPDX-License-Identifier: MIT
// The container format shared by dataset (.vrd) and model (.vrm) files, and
// the two ways they touch the disk: atomic replacement on write, mmap on read.
//
// Layout (little-endian, every section 64-byte aligned so a mapped file can be
// used in place as arrays of u32/u64/float):
//   header   64 bytes: magic[4], u32 version, u32 header_size, u32 section_count,
//            u64 file_size, u64 header_checksum (XXH3-64 of header with this
//            field zeroed, plus the section table), padding
//   table    section_count x 32 bytes: u32 tag, u32 reserved, u64 offset,
//            u64 size, u64 checksum (XXH3-64 of the section's bytes)
//   sections
// A reader tells apart "not a vidrec file" (magic), "written by a newer vidrec"
// (version), "truncated" (file shorter than the header says) and "corrupt"
// (checksum mismatch), each naming the file.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vidrec {

uint64_t checksum64(const void* data, size_t size);
// A checksum as 16 hex digits, as inspect and provenance print them.
std::string hex64(uint64_t v);

constexpr uint32_t make_tag(const char (&s)[5]) {
  return uint32_t(uint8_t(s[0])) | uint32_t(uint8_t(s[1])) << 8 | uint32_t(uint8_t(s[2])) << 16 |
         uint32_t(uint8_t(s[3])) << 24;
}
std::string tag_name(uint32_t tag);

// Writes to a temporary file beside `path`, and only commit() (fsync, rename,
// fsync of the directory) makes it visible under `path`. Destroyed without
// commit() -- an exception, a failed write -- the temporary is removed and
// whatever was at `path` before is untouched. `path` "-" writes to stdout.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t size);
  // Writes at `offset` of the temporary, apart from write()'s position; only
  // where seekable(), i.e. not to stdout.
  void pwrite(uint64_t offset, const void* data, size_t size);
  bool seekable() const { return !to_stdout_; }
  void commit();
  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_; }

 private:
  void flush_buffer();
  std::string path_, temp_;
  int fd_ = -1;
  bool to_stdout_ = false;
  std::vector<char> buffer_;
};

// One writer per output file: an exclusive flock on OUTPUT.lock, held for the
// object's lifetime and released by the kernel even on kill -9. Holding it
// proves no other vidrec is writing OUTPUT, so temporaries left by a killed
// writer (OUTPUT.tmp.*) are removed on acquisition. A second writer gets an
// IoError naming the lock and the holder's pid. No-op for "-".
class OutputLock {
 public:
  explicit OutputLock(const std::string& output);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

 private:
  int fd_ = -1;
};

// Read-only bytes of a whole file: memory-mapped for regular files, read into
// memory for pipes ("-" is stdin). Also wraps an in-memory buffer for tests.
class MappedFile {
 public:
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  static std::shared_ptr<const MappedFile> from_bytes(std::string name, std::vector<char> bytes);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const char* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& name() const { return name_; }

 private:
  MappedFile() = default;
  std::string name_;
  const char* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::vector<char> owned_;
};

struct SectionInfo {
  uint32_t tag = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t checksum = 0;
};

// Collects sections, then writes the whole container in one pass.
class ContainerWriter {
 public:
  ContainerWriter(const char (&magic)[5], uint32_t version);
  // `data` must stay alive until write().
  void add(uint32_t tag, const void* data, size_t size);
  template <class T>
  void add(uint32_t tag, const std::vector<T>& v) {
    add(tag, v.data(), v.size() * sizeof(T));
  }
  void add(uint32_t tag, std::string_view s) { add(tag, s.data(), s.size()); }
  // Writes and commits; returns the header checksum, which identifies the file.
  uint64_t write(AtomicFile& out) const;

 private:
  struct Pending {
    uint32_t tag;
    const void* data;
    size_t size;
  };
  char magic_[4];
  uint32_t version_;
  std::vector<Pending> sections_;
};

// Writes a container whose section sizes are known before their bytes. Each
// section's bytes arrive in order, but sections may interleave, so a producer
// can fill several of them a block at a time without holding any whole. To a
// file every block goes straight to its place and the header, which holds
// the checksums, is written last; to stdout, which cannot seek, the sections
// are held in memory until commit(). The bytes are those ContainerWriter
// writes for the same sections.
class ContainerStream {
 public:
  // `sections`: (tag, size in bytes), in file order.
  ContainerStream(AtomicFile& out, const char (&magic)[5], uint32_t version,
                  const std::vector<std::pair<uint32_t, uint64_t>>& sections);
  ContainerStream(const ContainerStream&) = delete;
  ContainerStream& operator=(const ContainerStream&) = delete;

  // The next `size` bytes of sections[section]; more than its size is a logic_error.
  void append(size_t section, const void* data, size_t size);
  template <class T>
  void append(size_t section, const std::vector<T>& v) {
    append(section, v.data(), v.size() * sizeof(T));
  }
  // Writes the header and commits the file; every section must be complete
  // (logic_error otherwise). Returns the header checksum.
  uint64_t commit();

 private:
  struct FreeHash {
    void operator()(void* state) const;
  };
  struct Section {
    SectionInfo info;
    uint64_t written = 0;
    std::unique_ptr<void, FreeHash> hash;  // an XXH3 state (xxhash.h stays out of this header)
    std::vector<char> held;                // stdout only
  };
  AtomicFile& out_;
  char magic_[4];
  uint32_t version_;
  std::vector<Section> sections_;
};

// Validates a container and gives typed access to its sections.
class ContainerReader {
 public:
  // Throws FormatError naming the file unless the magic matches, the version is
  // at most `max_version`, the sizes agree and the header checksum holds.
  // Section checksums are checked too unless verify_sections is false
  // (callers that start in milliseconds check them lazily or not at all).
  ContainerReader(std::shared_ptr<const MappedFile> file, const char (&magic)[5], uint32_t max_version,
                  bool verify_sections = true);

  uint32_t version() const { return version_; }
  uint64_t header_checksum() const { return header_checksum_; }
  const std::vector<SectionInfo>& sections() const { return sections_; }
  const MappedFile& file() const { return *file_; }
  bool has(uint32_t tag) const;
  void verify(uint32_t tag) const;

  std::string_view bytes(uint32_t tag) const;
  // A section read as an array of T; its size must be a multiple of sizeof(T)
  // and, when expected_count is given, hold exactly that many elements.
  template <class T>
  const T* array(uint32_t tag, uint64_t expected_count) const {
    std::string_view b = bytes(tag);
    if (b.size() != expected_count * sizeof(T)) size_mismatch(tag, expected_count * sizeof(T), b.size());
    return reinterpret_cast<const T*>(b.data());
  }
  [[noreturn]] void corrupt(const std::string& what) const;

 private:
  [[noreturn]] void size_mismatch(uint32_t tag, uint64_t want, uint64_t got) const;
  const SectionInfo& find(uint32_t tag) const;
  std::shared_ptr<const MappedFile> file_;
  uint32_t version_ = 0;
  uint64_t header_checksum_ = 0;
  std::vector<SectionInfo> sections_;
};

// Peeks at the first four bytes: "VRDS", "VRMD", or "" when not a vidrec file.
std::string sniff_magic(const MappedFile& file);

}  // namespace vidrec
