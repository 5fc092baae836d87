// SPDX-License-Identifier: MIT
#include "vidrec/interop/npz.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "vidrec/base/errors.hpp"
#include "vidrec/interop/zip_library.hpp"
#include "vidrec/io/atomic_file.hpp"
#include "vidrec/io/paths.hpp"

namespace vidrec {

namespace {

constexpr char kSuffix[] = ".npy";
constexpr size_t kSuffixLen = 4;
// Members' modification time (1 Jan 2000), so the same arrays give the same bytes.
constexpr time_t kMtime = 946684800;

std::string zip_message(int code) {
  zip_error_t e;
  libzip().error_init_with_code(&e, code);
  std::string s = libzip().error_strerror(&e);
  libzip().error_fini(&e);
  return s;
}

struct ZipCloser {
  void operator()(zip_t* z) const { libzip().discard(z); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipCloser>;

// A member's bytes for libzip, read from head and body where they lie: a
// read-only source (libzip asks only for these commands of one).
struct MemberReader {
  const NpzMember* m;
  uint64_t at = 0;
  zip_error_t error;
};

zip_int64_t member_source(void* state, void* data, zip_uint64_t len, zip_source_cmd_t cmd) {
  auto& r = *static_cast<MemberReader*>(state);
  const uint64_t head = r.m->head.size(), total = head + r.m->body.size();
  switch (cmd) {
    case ZIP_SOURCE_OPEN:
      r.at = 0;
      return 0;
    case ZIP_SOURCE_READ: {
      const uint64_t n = std::min<uint64_t>(len, total - r.at);
      char* out = static_cast<char*>(data);
      for (uint64_t done = 0; done < n;) {
        const uint64_t pos = r.at + done;
        const std::string_view part =
            pos < head ? std::string_view(r.m->head).substr(pos) : r.m->body.substr(pos - head);
        const uint64_t step = std::min<uint64_t>(n - done, part.size());
        std::memcpy(out + done, part.data(), step);
        done += step;
      }
      r.at += n;
      return zip_int64_t(n);
    }
    case ZIP_SOURCE_CLOSE:
    case ZIP_SOURCE_FREE:  // the state belongs to write_npz
      return 0;
    case ZIP_SOURCE_STAT: {
      if (len < sizeof(zip_stat_t)) {
        libzip().error_set(&r.error, ZIP_ER_INVAL, 0);
        return -1;
      }
      auto* st = static_cast<zip_stat_t*>(data);
      libzip().stat_init(st);
      st->size = total;
      st->valid |= ZIP_STAT_SIZE;
      return sizeof(zip_stat_t);
    }
    case ZIP_SOURCE_ERROR:
      return libzip().error_to_data(&r.error, data, len);
    case ZIP_SOURCE_SUPPORTS:
      return libzip().source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE,
                                                 ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE, -1);
    default:
      libzip().error_set(&r.error, ZIP_ER_OPNOTSUPP, 0);
      return -1;
  }
}

}  // namespace

NpzReader::NpzReader(const std::string& path) : path_(path) {
  const int fd = open_regular(path);
  int code = 0;
  ZipPtr za(libzip().fdopen(fd, ZIP_RDONLY | ZIP_CHECKCONS, &code));
  if (!za) {
    ::close(fd);
    throw FormatError(path + ": not a readable .npz (zip) archive: " + zip_message(code));
  }
  const zip_int64_t n = libzip().get_num_entries(za.get(), 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    zip_stat_t st;
    if (libzip().stat_index(za.get(), zip_uint64_t(i), 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME))
      throw FormatError(path + ": unreadable zip entry " + std::to_string(i));
    const std::string member = st.name;
    if (member.size() <= kSuffixLen || member.compare(member.size() - kSuffixLen, kSuffixLen, kSuffix) != 0)
      continue;  // numpy.load also hands non-.npy members out as raw bytes; vidrec has no use for them
    const std::string key = member.substr(0, member.size() - kSuffixLen);
    if (members_.count(key)) throw FormatError(path + ": member " + member + " appears twice");
    std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> zf(libzip().fopen_index(za.get(), zip_uint64_t(i), 0),
                                                         libzip().fclose);
    if (!zf) throw FormatError(path + ": " + member + ": " + libzip().strerror(za.get()));
    std::string bytes;
    char buf[1 << 16];
    for (;;) {
      const zip_int64_t got = libzip().fread(zf.get(), buf, sizeof buf);
      if (got < 0) throw FormatError(path + ": " + member + ": " + libzip().file_strerror(zf.get()));
      if (got == 0) break;
      bytes.append(buf, size_t(got));
    }
    members_.emplace(key, std::move(bytes));
  }
}

std::vector<std::string> NpzReader::keys() const {
  std::vector<std::string> k;
  for (const auto& m : members_) k.push_back(m.first);
  return k;
}

NpyArray NpzReader::array(const std::string& key) const {
  const auto it = members_.find(key);
  if (it == members_.end()) throw FormatError(path_ + ": no member " + key + ".npy");
  return parse_npy(it->second.data(), it->second.size(), name(key));
}

void write_npz(const std::string& path, const NpzMembers& members, bool compress) {
  const std::string fail = path + ": cannot build the zip archive: ";
  zip_error_t ze;
  libzip().error_init(&ze);
  zip_source_t* mem = libzip().source_buffer_create(nullptr, 0, 0, &ze);
  if (!mem) throw IoError(fail + libzip().error_strerror(&ze));
  std::unique_ptr<zip_source_t, void (*)(zip_source_t*)> hold(mem, libzip().source_free);
  libzip().source_keep(mem);  // zip_close must leave the archive's bytes to us
  // libzip holds pointers to these until the archive is closed or discarded
  // (declared before `za`, so they outlive it on every path).
  std::vector<MemberReader> readers;
  readers.reserve(members.size());
  ZipPtr za(libzip().open_from_source(mem, ZIP_TRUNCATE, &ze));
  if (!za) {
    libzip().source_free(mem);  // the reference zip_open_from_source did not take
    throw IoError(fail + libzip().error_strerror(&ze));
  }
  for (const auto& m : members) {
    readers.push_back(MemberReader{&m, 0, {}});
    libzip().error_init(&readers.back().error);
    zip_source_t* s = libzip().source_function(za.get(), member_source, &readers.back());
    const zip_int64_t idx =
        s ? libzip().file_add(za.get(), (m.key + kSuffix).c_str(), s, ZIP_FL_ENC_UTF_8) : -1;
    if (idx < 0) {
      if (s) libzip().source_free(s);
      throw IoError(fail + libzip().strerror(za.get()));
    }
    if (libzip().set_file_compression(za.get(), zip_uint64_t(idx), compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE,
                                      0) != 0 ||
        libzip().file_set_mtime(za.get(), zip_uint64_t(idx), kMtime, 0) != 0)
      throw IoError(fail + libzip().strerror(za.get()));
  }
  if (libzip().close(za.get()) != 0) throw IoError(fail + libzip().strerror(za.get()));
  za.release();  // closed: zip_close freed it

  zip_stat_t st;
  if (libzip().source_stat(mem, &st) != 0 || libzip().source_open(mem) != 0)
    throw IoError(fail + libzip().error_strerror(libzip().source_error(mem)));
  AtomicFile out(path);
  std::vector<char> chunk(1 << 20);
  zip_uint64_t copied = 0;
  for (zip_int64_t got; (got = libzip().source_read(mem, chunk.data(), chunk.size())) > 0;
       copied += zip_uint64_t(got))
    out.write(chunk.data(), size_t(got));
  libzip().source_close(mem);
  if (copied != st.size) throw IoError(fail + "reading the archive back from memory failed");
  out.commit();
}

}  // namespace vidrec
