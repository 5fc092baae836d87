// SPDX-License-Identifier: MIT
#include "vidrec/io/container.hpp"

#include <xxhash.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "vidrec/base/errors.hpp"

namespace vidrec {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "vidrec files are little-endian");

namespace {

constexpr size_t kHeaderSize = 64;
constexpr size_t kEntrySize = 32;
constexpr size_t kAlign = 64;

template <class T>
void put(char* p, T v) {
  std::memcpy(p, &v, sizeof v);
}
template <class T>
T get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint64_t align_up(uint64_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

uint64_t blocks_of(uint64_t size) { return (size + kChecksumBlock - 1) / kChecksumBlock; }

// Whether n float32s hold no NaN or infinity (exponent bits all ones), 16 at
// a time with SSE2: a lazy `recommend` checks its whole video panel, and the
// scalar isfinite() loop took twice as long as hashing it.
bool all_finite(const char* p, uint64_t n) {
  constexpr uint32_t kExponent = 0x7f800000;
  uint64_t i = 0;
#if defined(__SSE2__)
  const __m128i mask = _mm_set1_epi32(int(kExponent));
  __m128i bad = _mm_setzero_si128();
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 4; ++k) {
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 4 * (i + 4 * uint64_t(k))));
      bad = _mm_or_si128(bad, _mm_cmpeq_epi32(_mm_and_si128(x, mask), mask));
    }
  if (_mm_movemask_epi8(bad)) return false;
#endif
  for (; i < n; ++i) {
    uint32_t x;
    std::memcpy(&x, p + 4 * i, sizeof x);
    if ((x & kExponent) == kExponent) return false;
  }
  return true;
}

uint64_t header_hash(const char* header, const char* table, size_t table_size) {
  char h[kHeaderSize];
  std::memcpy(h, header, kHeaderSize);
  put<uint64_t>(h + 24, 0);
  XXH3_state_t* st = XXH3_createState();
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, h, kHeaderSize);
  XXH3_64bits_update(st, table, table_size);
  uint64_t r = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return r;
}

const char kZeros[kAlign] = {};

// The header and section table for sections of the given tags, sizes and
// checksums; sets their offsets and `checksum` to the header checksum.
std::vector<char> container_head(const char* magic, uint32_t version, std::vector<SectionInfo>& sections,
                                 uint64_t& checksum) {
  const size_t table_size = sections.size() * kEntrySize;
  std::vector<char> head(align_up(kHeaderSize + table_size), 0);
  char* table = head.data() + kHeaderSize;
  uint64_t offset = head.size();
  for (size_t i = 0; i < sections.size(); ++i) {
    SectionInfo& s = sections[i];
    s.offset = offset;
    char* e = table + i * kEntrySize;
    put<uint32_t>(e, s.tag);
    put<uint64_t>(e + 8, s.offset);
    put<uint64_t>(e + 16, s.size);
    put<uint64_t>(e + 24, s.checksum);
    offset = align_up(offset + s.size);
  }
  std::memcpy(head.data(), magic, 4);
  put<uint32_t>(head.data() + 4, version);
  put<uint32_t>(head.data() + 8, uint32_t(kHeaderSize));
  put<uint32_t>(head.data() + 12, uint32_t(sections.size()));
  put<uint64_t>(head.data() + 16, sections.empty() ? head.size() : offset);
  checksum = header_hash(head.data(), table, table_size);
  put<uint64_t>(head.data() + 24, checksum);
  return head;
}

}  // namespace

#if VIDREC_XXH3_AVX2
namespace detail {
uint64_t xxh3_64_avx2(const void* data, size_t size);  // checksum_avx2.cpp
}
#endif

uint64_t checksum64(const void* data, size_t size) {
#if VIDREC_XXH3_AVX2
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return detail::xxh3_64_avx2(data, size);
#endif
  return XXH3_64bits(data, size);
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string tag_name(uint32_t tag) {
  std::string s(4, ' ');
  for (int i = 0; i < 4; ++i) s[i] = char((tag >> (8 * i)) & 0xff);
  return s;
}

namespace {
uint64_t declared_file_size(const char* head, size_t n) {
  if (n < kHeaderSize) return 0;
  const std::string m(head, 4);
  return m == "VRDS" || m == "VRMD" ? get<uint64_t>(head + 16) : 0;
}
}  // namespace

std::shared_ptr<const MappedFile> open_container_file(const std::string& path) {
  return MappedFile::open(path, kHeaderSize, declared_file_size);
}

std::string sniff_magic(const MappedFile& file) {
  if (file.size() < 4) return "";
  std::string m(file.data(), 4);
  return m == "VRDS" || m == "VRMD" ? m : "";
}

// ---- ContainerWriter --------------------------------------------------------

ContainerWriter::ContainerWriter(const char (&magic)[5], uint32_t version) : version_(version) {
  std::memcpy(magic_, magic, 4);
}

void ContainerWriter::add(uint32_t tag, const void* data, size_t size) {
  sections_.push_back({tag, data, size});
}

uint64_t ContainerWriter::write(AtomicFile& out) const {
  std::vector<SectionInfo> infos;
  std::vector<uint64_t> sums;
  for (const Pending& s : sections_) {
    if (s.tag == kBlockSumsTag) throw std::logic_error("ContainerWriter: BSUM is written by the container");
    infos.push_back({s.tag, 0, s.size, checksum64(s.data, s.size)});
    const char* p = static_cast<const char*>(s.data);
    for (uint64_t at = 0; at < s.size; at += kChecksumBlock)
      sums.push_back(checksum64(p + at, size_t(std::min<uint64_t>(kChecksumBlock, s.size - at))));
  }
  const size_t sums_size = sums.size() * sizeof(uint64_t);
  infos.push_back({kBlockSumsTag, 0, sums_size, checksum64(sums.data(), sums_size)});
  uint64_t hh = 0;
  const std::vector<char> head = container_head(magic_, version_, infos, hh);
  out.write(head.data(), head.size());
  auto section = [&out](const void* data, size_t size) {
    out.write(data, size);
    out.write(kZeros, align_up(size) - size);
  };
  for (const Pending& s : sections_) section(s.data, s.size);
  section(sums.data(), sums_size);
  out.commit();
  return hh;
}

// ---- ContainerStream --------------------------------------------------------

ContainerStream::ContainerStream(AtomicFile& out, const char (&magic)[5], uint32_t version,
                                 const std::vector<std::pair<uint32_t, uint64_t>>& sections)
    : out_(out), version_(version) {
  std::memcpy(magic_, magic, 4);
  uint64_t offset = align_up(kHeaderSize + (sections.size() + 1) * kEntrySize), blocks = 0;
  auto new_hash = [] {
    Hash h(XXH3_createState());
    if (!h) throw std::bad_alloc();
    XXH3_64bits_reset(static_cast<XXH3_state_t*>(h.get()));
    return h;
  };
  for (const auto& [tag, size] : sections) {
    if (tag == kBlockSumsTag) throw std::logic_error("ContainerStream: BSUM is written by the container");
    Section s;
    s.info = {tag, offset, size, 0};
    s.first_block = blocks;
    s.hash = new_hash();
    s.block_hash = new_hash();
    if (!out_.seekable()) s.held.reserve(size);
    sections_.push_back(std::move(s));
    offset = align_up(offset + size);
    blocks += blocks_of(size);
  }
  block_sums_.resize(blocks);
  sums_offset_ = offset;
}

void ContainerStream::FreeHash::operator()(void* state) const {
  XXH3_freeState(static_cast<XXH3_state_t*>(state));
}

void ContainerStream::append(size_t section, const void* data, size_t size) {
  Section& s = sections_.at(section);
  if (size > s.info.size - s.written)
    throw std::logic_error("ContainerStream: section " + tag_name(s.info.tag) + " overflows its size");
  const char* p = static_cast<const char*>(data);
  XXH3_64bits_update(static_cast<XXH3_state_t*>(s.hash.get()), p, size);
  auto* block = static_cast<XXH3_state_t*>(s.block_hash.get());
  for (uint64_t at = s.written, end = s.written + size; at < end;) {
    const uint64_t n = std::min(end - at, kChecksumBlock - at % kChecksumBlock);
    XXH3_64bits_update(block, p + (at - s.written), size_t(n));
    at += n;
    if (at % kChecksumBlock == 0 || at == s.info.size) {
      block_sums_[s.first_block + (at - 1) / kChecksumBlock] = XXH3_64bits_digest(block);
      XXH3_64bits_reset(block);
    }
  }
  if (out_.seekable()) {
    out_.pwrite(s.info.offset + s.written, data, size);
    if (s.written + size == s.info.size)  // padding, so the file has no holes
      out_.pwrite(s.info.offset + s.info.size, kZeros, align_up(s.info.size) - s.info.size);
  } else {
    s.held.insert(s.held.end(), p, p + size);
  }
  s.written += size;
}

uint64_t ContainerStream::commit() {
  std::vector<SectionInfo> infos;
  for (Section& s : sections_) {
    if (s.written != s.info.size)
      throw std::logic_error("ContainerStream: section " + tag_name(s.info.tag) + " incomplete");
    s.info.checksum = XXH3_64bits_digest(static_cast<XXH3_state_t*>(s.hash.get()));
    infos.push_back(s.info);
  }
  const size_t sums_size = block_sums_.size() * sizeof(uint64_t);
  infos.push_back({kBlockSumsTag, sums_offset_, sums_size, checksum64(block_sums_.data(), sums_size)});
  uint64_t hh = 0;
  const std::vector<char> head = container_head(magic_, version_, infos, hh);
  if (out_.seekable()) {
    out_.pwrite(sums_offset_, block_sums_.data(), sums_size);
    out_.pwrite(sums_offset_ + sums_size, kZeros, align_up(sums_size) - sums_size);
    out_.pwrite(0, head.data(), head.size());
  } else {
    out_.write(head.data(), head.size());
    for (const Section& s : sections_) {
      out_.write(s.held.data(), s.held.size());
      out_.write(kZeros, align_up(s.info.size) - s.info.size);
    }
    out_.write(block_sums_.data(), sums_size);
    out_.write(kZeros, align_up(sums_size) - sums_size);
  }
  out_.commit();
  return hh;
}

// ---- ContainerReader --------------------------------------------------------

ContainerReader::ContainerReader(std::shared_ptr<const MappedFile> file, const char (&magic)[5],
                                 uint32_t max_version, bool verify_sections)
    : file_(std::move(file)) {
  const char* d = file_->data();
  const size_t n = file_->size();
  const std::string& name = file_->name();
  const std::string kind = std::string(magic) == "VRDS" ? "dataset" : "model";
  if (n == 0) throw FormatError(name + ": empty file, not a vidrec " + kind);
  if (n < 4 || std::memcmp(d, magic, 4) != 0) {
    std::string other = n >= 4 ? sniff_magic(*file_) : "";
    if (!other.empty())
      throw FormatError(name + ": is a vidrec " + (other == "VRDS" ? "dataset" : "model") +
                        " file, expected a " + kind);
    throw FormatError(name + ": not a vidrec " + kind + " file (bad magic bytes)");
  }
  if (n < kHeaderSize)
    throw FormatError(name + ": truncated (" + std::to_string(n) + " bytes, header needs 64)");
  version_ = get<uint32_t>(d + 4);
  if (version_ == 0) corrupt("format version 0");
  if (version_ > max_version)
    throw FormatError(name + ": written by a newer vidrec (format version " + std::to_string(version_) +
                      ", this build reads up to " + std::to_string(max_version) + "); upgrade vidrec");
  const uint32_t header_size = get<uint32_t>(d + 8);
  const uint32_t count = get<uint32_t>(d + 12);
  const uint64_t file_size = get<uint64_t>(d + 16);
  if (header_size != kHeaderSize) corrupt("unexpected header size " + std::to_string(header_size));
  if (file_size > n)
    throw FormatError(name + ": truncated (" + std::to_string(n) + " bytes, header says " +
                      std::to_string(file_size) + ")");
  if (file_size < n) corrupt("trailing bytes after the end the header states");
  if (count > (n - kHeaderSize) / kEntrySize) corrupt("section table larger than the file");
  header_checksum_ = get<uint64_t>(d + 24);
  if (header_hash(d, d + kHeaderSize, count * kEntrySize) != header_checksum_)
    corrupt("header checksum mismatch");
  const uint64_t data_start = align_up(kHeaderSize + count * kEntrySize);
  for (uint32_t i = 0; i < count; ++i) {
    const char* e = d + kHeaderSize + i * kEntrySize;
    SectionInfo s{get<uint32_t>(e), get<uint64_t>(e + 8), get<uint64_t>(e + 16), get<uint64_t>(e + 24)};
    if (s.offset < data_start || s.offset % kAlign != 0 || s.offset > n || s.size > n - s.offset)
      corrupt("section " + tag_name(s.tag) + " lies outside the file");
    sections_.push_back(s);
  }
  const bool has_sums = !sections_.empty() && sections_.back().tag == kBlockSumsTag;
  if (version_ >= 2 && !has_sums) corrupt("missing block checksums (section BSUM)");
  if (verify_sections || !has_sums) {
    for (const SectionInfo& s : sections_) verify(s.tag);
    return;
  }
  // Lazy: only the block checksums (1/8192 of the data) are checked now.
  uint64_t blocks = 0;
  for (size_t i = 0; i + 1 < sections_.size(); ++i) {
    first_block_.push_back(blocks);
    blocks += blocks_of(sections_[i].size);
  }
  const SectionInfo& sums = sections_.back();
  if (sums.size != blocks * sizeof(uint64_t)) corrupt("block checksums do not cover the sections");
  verify(kBlockSumsTag);
  block_sums_ = reinterpret_cast<const uint64_t*>(d + sums.offset);
  finite_.assign(sections_.size(), 0);
  checked_.reset(new std::atomic<uint8_t>[blocks]());
  lazy_ = true;
}

void ContainerReader::corrupt(const std::string& what) const {
  throw FormatError(file_->name() + ": corrupt file (" + what + ")");
}

void ContainerReader::size_mismatch(uint32_t tag, uint64_t want, uint64_t got) const {
  corrupt("section " + tag_name(tag) + " has " + std::to_string(got) + " bytes, expected " +
          std::to_string(want));
}

size_t ContainerReader::index_of(uint32_t tag) const {
  for (size_t i = 0; i < sections_.size(); ++i)
    if (sections_[i].tag == tag) return i;
  corrupt("missing section " + tag_name(tag));
}

void ContainerReader::check_blocks(uint32_t tag, uint64_t offset, uint64_t size) const {
  const size_t i = index_of(tag);
  const SectionInfo& s = sections_[i];
  if (offset > s.size || size > s.size - offset) corrupt("read past the end of section " + tag_name(tag));
  if (size == 0 || i + 1 == sections_.size()) return;  // BSUM itself was checked whole
  for (uint64_t b = offset / kChecksumBlock, last = (offset + size - 1) / kChecksumBlock; b <= last; ++b)
    check_block(i, b);
}

void ContainerReader::check_block(size_t i, uint64_t b) const {
  std::atomic<uint8_t>& checked = checked_[first_block_[i] + b];
  if (checked.load(std::memory_order_acquire)) return;
  const SectionInfo& s = sections_[i];
  const uint64_t begin = b * kChecksumBlock, size = std::min(kChecksumBlock, s.size - begin);
  if (checksum64(file_->data() + s.offset + begin, size_t(size)) != block_sums_[first_block_[i] + b])
    corrupt("checksum mismatch in section " + tag_name(s.tag) + ", block " + std::to_string(b));
  if (finite_[i]) check_finite(s, begin, size);
  checked.store(1, std::memory_order_release);  // two threads may both check a block: harmless
}

void ContainerReader::check_all(uint32_t tag) const {
  if (lazy_) check_blocks(tag, 0, find(tag).size);
}

void ContainerReader::check_finite(const SectionInfo& s, uint64_t begin, uint64_t size) const {
  const char* p = file_->data() + s.offset + begin;
  if (all_finite(p, size / sizeof(float))) return;
  for (uint64_t k = 0; k + sizeof(float) <= size; k += sizeof(float)) {  // where, for the message
    float x;
    std::memcpy(&x, p + k, sizeof x);
    if (!std::isfinite(x))
      corrupt("non-finite number (NaN or infinity) in section " + tag_name(s.tag) + " at byte " +
              std::to_string(begin + k));
  }
}

void ContainerReader::require_finite(uint32_t tag) {
  const size_t i = index_of(tag);
  if (lazy_)
    finite_[i] = 1;
  else
    check_finite(sections_[i], 0, sections_[i].size);
}

bool ContainerReader::has(uint32_t tag) const {
  return std::any_of(sections_.begin(), sections_.end(), [&](const SectionInfo& s) { return s.tag == tag; });
}

void ContainerReader::verify(uint32_t tag) const {
  const SectionInfo& s = find(tag);
  if (checksum64(file_->data() + s.offset, s.size) != s.checksum)
    corrupt("checksum mismatch in section " + tag_name(tag));
}

std::string_view ContainerReader::bytes(uint32_t tag) const {
  const SectionInfo& s = find(tag);
  return {file_->data() + s.offset, s.size};
}

}  // namespace vidrec
