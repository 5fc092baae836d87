// SPDX-License-Identifier: MIT
// The container format shared by dataset (.vrd) and model (.vrm) files. It
// reaches the disk the two ways io/ provides: atomic replacement on write
// (atomic_file.hpp), a mapping on read (mapped_file.hpp).
//
// Layout (little-endian, every section 64-byte aligned so a mapped file can be
// used in place as arrays of u32/u64/float):
//   header   64 bytes: magic[4], u32 version, u32 header_size, u32 section_count,
//            u64 file_size, u64 header_checksum (XXH3-64 of header with this
//            field zeroed, plus the section table), padding
//   table    section_count x 32 bytes: u32 tag, u32 reserved, u64 offset,
//            u64 size, u64 checksum (XXH3-64 of the section's bytes)
//   sections
// From format version 2 the last section, BSUM, holds a checksum of every
// kChecksumBlock bytes of each other section (u64 each, sections in table
// order), so a reader that touches a few vectors of a large file verifies
// just their blocks (ContainerReader::check); version 1 files have no BSUM
// and are verified whole when opened.
// A reader tells apart "not a vidrec file" (magic), "written by a newer vidrec"
// (version), "truncated" (file shorter than the header says) and "corrupt"
// (checksum mismatch), each naming the file.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vidrec/io/atomic_file.hpp"
#include "vidrec/io/mapped_file.hpp"

namespace vidrec {

uint64_t checksum64(const void* data, size_t size);
// A checksum as 16 hex digits, as inspect and provenance print them.
std::string hex64(uint64_t v);

constexpr uint32_t make_tag(const char (&s)[5]) {
  return uint32_t(uint8_t(s[0])) | uint32_t(uint8_t(s[1])) << 8 | uint32_t(uint8_t(s[2])) << 16 |
         uint32_t(uint8_t(s[3])) << 24;
}
std::string tag_name(uint32_t tag);

constexpr uint64_t kChecksumBlock = uint64_t(1) << 16;
constexpr uint32_t kBlockSumsTag = make_tag("BSUM");

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
  // `data` must stay alive until write(). The block checksums (BSUM) are
  // added by write().
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
  // `sections`: (tag, size in bytes), in file order; BSUM follows them.
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
  using Hash = std::unique_ptr<void, FreeHash>;  // an XXH3 state (xxhash.h stays out of this header)
  struct Section {
    SectionInfo info;
    uint64_t written = 0;
    uint64_t first_block = 0;  // its first entry in block_sums_
    Hash hash, block_hash;     // of the whole section, of the current block
    std::vector<char> held;    // stdout only
  };
  AtomicFile& out_;
  char magic_[4];
  uint32_t version_;
  std::vector<Section> sections_;
  std::vector<uint64_t> block_sums_;
  uint64_t sums_offset_ = 0;
};

// Validates a container and gives typed access to its sections.
class ContainerReader {
 public:
  // Throws FormatError naming the file unless the magic matches, the version is
  // at most `max_version`, the sizes agree and the header checksum holds.
  // Section checksums are checked too unless verify_sections is false: then
  // the reader is lazy (callers that start in milliseconds) and callers
  // check() what they read, block by block, before using it. A version 1
  // file, which has no block checksums, is verified whole either way.
  ContainerReader(std::shared_ptr<const MappedFile> file, const char (&magic)[5], uint32_t max_version,
                  bool verify_sections = true);

  uint32_t version() const { return version_; }
  uint64_t header_checksum() const { return header_checksum_; }
  const std::vector<SectionInfo>& sections() const { return sections_; }
  const MappedFile& file() const { return *file_; }
  bool has(uint32_t tag) const;
  void verify(uint32_t tag) const;
  bool lazy() const { return lazy_; }
  // Verifies the blocks of section `tag` that hold bytes [offset, offset +
  // size), each once (thread-safe): FormatError when one is damaged or the
  // range leaves the section. Free when the reader is not lazy.
  void check(uint32_t tag, uint64_t offset, uint64_t size) const {
    if (lazy_) check_blocks(tag, offset, size);
  }
  template <class T>
  void check_elements(uint32_t tag, uint64_t first, uint64_t count) const {
    check(tag, first * sizeof(T), count * sizeof(T));
  }
  void check_all(uint32_t tag) const;
  // Section `tag` holds float32s that must all be finite: checked now when
  // the reader is not lazy, else with each block as it is checked. Call
  // before reading the section.
  void require_finite(uint32_t tag);

  std::string_view bytes(uint32_t tag) const;
  // A section read as an array of T; its size must be a multiple of sizeof(T)
  // and, when expected_count is given, hold exactly that many elements.
  // Neither bytes() nor array() checks the contents of a lazy reader.
  template <class T>
  const T* array(uint32_t tag, uint64_t expected_count) const {
    std::string_view b = bytes(tag);
    if (b.size() != expected_count * sizeof(T)) size_mismatch(tag, expected_count * sizeof(T), b.size());
    return reinterpret_cast<const T*>(b.data());
  }
  [[noreturn]] void corrupt(const std::string& what) const;

 private:
  [[noreturn]] void size_mismatch(uint32_t tag, uint64_t want, uint64_t got) const;
  size_t index_of(uint32_t tag) const;
  const SectionInfo& find(uint32_t tag) const { return sections_[index_of(tag)]; }
  void check_blocks(uint32_t tag, uint64_t offset, uint64_t size) const;
  void check_block(size_t section, uint64_t block) const;
  void check_finite(const SectionInfo& s, uint64_t begin, uint64_t size) const;
  std::shared_ptr<const MappedFile> file_;
  uint32_t version_ = 0;
  uint64_t header_checksum_ = 0;
  std::vector<SectionInfo> sections_;
  // Lazy readers only: per section its first block, whether it must be
  // finite; per block its checksum (in the file) and whether it was checked.
  bool lazy_ = false;
  std::vector<uint64_t> first_block_;
  std::vector<uint8_t> finite_;
  const uint64_t* block_sums_ = nullptr;
  std::unique_ptr<std::atomic<uint8_t>[]> checked_;
};

// Opens a dataset or model file for ContainerReader: mapped when regular; a
// pipe ("-") is read only as far as the header's file_size (plus one byte, so
// trailing data is reported), never to the end of an endless stream.
std::shared_ptr<const MappedFile> open_container_file(const std::string& path);

// Peeks at the first four bytes: "VRDS", "VRMD", or "" when not a vidrec file.
std::string sniff_magic(const MappedFile& file);

}  // namespace vidrec
