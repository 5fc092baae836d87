// SPDX-License-Identifier: MIT
// The dataset file (.vrd): what `prepare` writes and `train`/`split` read.
//
// Contract
// - Users and videos are numbered by their ids in ascending byte order, so the
//   same interactions always give the same file whatever the row order, and an
//   id is found by binary search straight from the mapped file.
// - The user x video matrix is stored as CSR (entries ascending by video
//   within a user) with, per entry, the summed weight (float32), the number of
//   events and the first/last timestamp; its transpose (video x user, CSR of
//   the same weights) is stored too, so training needs no transposition.
// - Each user's location (optional, since files without it still read as
//   "no location"): the distinct locations as an id table (LOFF/LIDS,
//   ascending) and one u32 per user (ULOC), an index into it or kNoLocation.
//   Written only when some user has a location, so a file without locations
//   is laid out as before; readers that predate the sections skip them.
// - Provenance (inputs, options, counts) is a JSON section; everything else is
//   checksummed separately, and content_checksum() ignores provenance.
// - Written atomically (io/atomic_file.hpp). Opening checks magic, version,
//   checksums and the matrix structure, and throws FormatError naming the file.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vidrec/dataset/sparse.hpp"
#include "vidrec/io/container.hpp"

namespace vidrec {

// 2: block checksums (BSUM, io/container.hpp); version 1 files are still read.
constexpr uint32_t kDatasetVersion = 2;

// Sections that dataset and model files share: dimensions, JSON metadata, id tables.
namespace section {
constexpr uint32_t kDims = make_tag("DIMS");
constexpr uint32_t kMeta = make_tag("META");
constexpr uint32_t kUserOff = make_tag("UOFF"), kUserIds = make_tag("UIDS");
constexpr uint32_t kVideoOff = make_tag("VOFF"), kVideoIds = make_tag("VIDS");
constexpr uint32_t kLocationOff = make_tag("LOFF"), kLocationIds = make_tag("LIDS");
constexpr uint32_t kUserLocation = make_tag("ULOC");
}  // namespace section

// Shared by the dataset and model files: ids as u64 offsets + one byte blob,
// and the checks on them (offsets ascending, ids strictly ascending).
struct IdTable {
  std::vector<uint64_t> offsets;
  std::string blob;
  explicit IdTable(const std::vector<std::string>& ids);
};
// A table read without the full check (read_id_table's `check` false) is
// checked on each access instead: the blocks an id lies in are verified
// (a lazy reader), its offsets bounds-checked; FormatError when damaged.
struct IdView {
  const uint64_t* offsets = nullptr;
  const char* blob = nullptr;
  uint64_t blob_size = 0;
  uint32_t count = 0;
  const ContainerReader* reader = nullptr;
  uint32_t off_tag = 0, blob_tag = 0;
  std::string_view at(uint32_t i) const {
    reader->check_elements<uint64_t>(off_tag, i, 2);
    const uint64_t b = offsets[i], e = offsets[i + 1];
    if (b > e || e > blob_size) reader->corrupt("id table offsets");
    reader->check(blob_tag, b, e - b);
    return {blob + b, size_t(e - b)};
  }
  std::optional<uint32_t> find(std::string_view id) const;  // binary search
};
// Hash lookup over an IdView, for callers that resolve ids many thousand
// times a second (serve): one probe and one comparison where IdView::find
// makes ~17 string comparisons on 100k ids. Answers what IdView::find
// answers; the view's storage must outlive the index.
class IdIndex {
 public:
  IdIndex() = default;
  explicit IdIndex(const IdView& ids);
  std::optional<uint32_t> find(std::string_view id) const;

 private:
  IdView ids_;
  std::vector<uint32_t> slots_;  // id + 1, 0 when empty; at most half full
};

IdView read_id_table(const ContainerReader& r, uint32_t off_tag, uint32_t blob_tag, uint64_t count,
                     bool check = true);

// A user without a location.
constexpr uint32_t kNoLocation = UINT32_MAX;

// Each user's location, as written: the locations used, ascending and
// distinct, and per user an index into them or kNoLocation. Both empty when
// no user has one (the sections are then not written).
struct UserLocations {
  std::vector<std::string> ids;
  std::vector<uint32_t> of_user;
};

// The location sections of a dataset or model file as (tag, bytes) in file
// order, ready for a ContainerStream; none when `ids` is empty. Throws
// std::logic_error unless of_user holds one valid entry per user.
class LocationSections {
 public:
  LocationSections(const std::vector<std::string>& ids, const uint32_t* of_user, uint64_t n_users);
  std::vector<std::pair<uint32_t, uint64_t>> sizes() const;
  // Appends the sections' bytes as parts first, first + 1, ... of `w`.
  void append(ContainerStream& w, size_t first) const;

 private:
  IdTable table_;
  const uint32_t* of_user_;
  uint64_t n_users_;
};

// The location sections as read; empty (count 0, every user kNoLocation) in
// a file without them. With `check` every entry is checked now, else each
// one as it is read (a lazy reader).
struct LocationView {
  IdView ids;
  const uint32_t* of_user = nullptr;
  const ContainerReader* reader = nullptr;
  uint32_t count() const { return ids.count; }
  uint32_t user(uint32_t u) const {
    if (!of_user) return kNoLocation;
    reader->check_elements<uint32_t>(section::kUserLocation, u, 1);
    if (of_user[u] >= ids.count && of_user[u] != kNoLocation) reader->corrupt("user location out of range");
    return of_user[u];
  }
};
LocationView read_locations(const ContainerReader& r, uint64_t n_users, bool check);

// An owning, in-memory dataset: what features builds and write_dataset stores.
struct DatasetData {
  std::vector<std::string> user_ids;   // ascending
  std::vector<std::string> video_ids;  // ascending
  std::vector<uint64_t> indptr;        // n_users + 1
  std::vector<uint32_t> indices;       // video of each entry
  std::vector<float> weights;
  std::vector<uint32_t> events;
  std::vector<int64_t> first_ts, last_ts;
  UserLocations locations;
  nlohmann::json provenance = nlohmann::json::object();
};

// The next `size` entries of a dataset in CSR order, fields as in DatasetData.
struct EntryBlock {
  const uint32_t* indices = nullptr;
  const float* weights = nullptr;
  const uint32_t* events = nullptr;
  const int64_t* first_ts = nullptr;
  const int64_t* last_ts = nullptr;
  size_t size = 0;
};

// Writes a dataset whose ids and row and column sizes are known before its
// entries, which then arrive in CSR order a block at a time; the transpose
// is built as they arrive. prepare streams its rows into the file this way
// rather than holding five arrays of every entry (a third of its peak
// memory on 10M rows). Atomic, as write_dataset.
class DatasetWriter {
 public:
  // `video_counts`: entries per video. The arguments are used before the
  // constructor returns. Sizes that disagree are a std::logic_error, here
  // or when entries overflow a row count or a video count.
  DatasetWriter(const std::string& path, const std::vector<std::string>& user_ids,
                const std::vector<std::string>& video_ids, const std::vector<uint64_t>& indptr,
                const std::vector<uint64_t>& video_counts, const nlohmann::json& provenance,
                const UserLocations& locations = {});
  ~DatasetWriter();
  DatasetWriter(const DatasetWriter&) = delete;
  DatasetWriter& operator=(const DatasetWriter&) = delete;
  void append(const EntryBlock& block);
  // Every entry must have arrived. Returns the header checksum.
  uint64_t commit();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Writes atomically to `path` ("-" = stdout); returns the header checksum.
uint64_t write_dataset(const DatasetData& data, const std::string& path);

// A read-only dataset over a mapped file; cheap to copy (shares the mapping).
class Dataset {
 public:
  // Full: every checksum and the whole matrix structure are checked now.
  // Lazy: only the header, dimensions, metadata and the ends of the row
  // pointers; callers check_rows() the rows they read (distributed training:
  // each rank reads only its own) and ids are checked as they are read.
  enum class Verify { Full, Lazy };
  static Dataset open(const std::string& path, Verify verify = Verify::Full);
  static Dataset from_file(std::shared_ptr<const MappedFile> file, Verify verify = Verify::Full);
  // Checks rows [begin, end) of the user x video matrix (of the video x user
  // one when `transpose`): their checksum blocks and CSR structure.
  // FormatError naming the file when damaged; free after a Full open.
  void check_rows(bool transpose, uint32_t begin, uint32_t end) const;

  uint32_t n_users() const { return n_users_; }
  uint32_t n_videos() const { return n_videos_; }
  uint64_t nnz() const { return nnz_; }
  CsrView user_items() const { return rows_; }
  CsrView item_users() const { return cols_; }
  const uint32_t* events() const { return events_; }
  const int64_t* first_ts() const { return first_ts_; }
  const int64_t* last_ts() const { return last_ts_; }
  std::string_view user_id(uint32_t u) const { return users_.at(u); }
  std::string_view video_id(uint32_t v) const { return videos_.at(v); }
  std::optional<uint32_t> find_user(std::string_view id) const { return users_.find(id); }
  const IdView& user_table() const { return users_; }
  std::optional<uint32_t> find_video(std::string_view id) const { return videos_.find(id); }
  // Locations: 0 and kNoLocation for every user in a file without them.
  uint32_t n_locations() const { return locations_.count(); }
  std::string_view location_id(uint32_t l) const { return locations_.ids.at(l); }
  uint32_t user_location(uint32_t u) const { return locations_.user(u); }
  const nlohmann::json& provenance() const { return provenance_; }
  // Identifies the data, not how it was produced (provenance is left out).
  uint64_t content_checksum() const { return content_checksum_; }
  uint32_t format_version() const { return version_; }
  const std::string& path() const { return reader_->file().name(); }
  uint64_t file_size() const { return reader_->file().size(); }

 private:
  std::shared_ptr<const ContainerReader> reader_;
  uint32_t version_ = 0, n_users_ = 0, n_videos_ = 0;
  uint64_t nnz_ = 0, content_checksum_ = 0;
  IdView users_, videos_;
  LocationView locations_;
  CsrView rows_, cols_;
  const uint32_t* events_ = nullptr;
  const int64_t *first_ts_ = nullptr, *last_ts_ = nullptr;
  nlohmann::json provenance_;
};

// Checks CSR structure (monotone indptr, indices in range and ascending).
void check_csr(const ContainerReader& r, const CsrView& m, const char* what);

}  // namespace vidrec
