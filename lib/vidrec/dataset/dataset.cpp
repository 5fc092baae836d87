// SPDX-License-Identifier: MIT
#include "vidrec/dataset/dataset.hpp"

#include <algorithm>
#include <cstring>
#include <functional>
#include <stdexcept>

#include "vidrec/base/errors.hpp"
#include "vidrec/base/huge_pages.hpp"

namespace vidrec {

namespace {
using namespace section;
constexpr uint32_t kRowPtr = make_tag("RPTR"), kRowIdx = make_tag("RIDX"), kRowWgt = make_tag("RWGT");
constexpr uint32_t kRowEvents = make_tag("REVT"), kRowFirst = make_tag("RTS0"), kRowLast = make_tag("RTS1");
constexpr uint32_t kColPtr = make_tag("CPTR"), kColIdx = make_tag("CIDX"), kColWgt = make_tag("CWGT");

}  // namespace

IdTable::IdTable(const std::vector<std::string>& ids) {
  offsets.reserve(ids.size() + 1);
  offsets.push_back(0);
  for (const std::string& s : ids) {
    blob += s;
    offsets.push_back(blob.size());
  }
}

IdView read_id_table(const ContainerReader& r, uint32_t off_tag, uint32_t blob_tag, uint64_t count,
                     bool check) {
  IdView v;
  v.offsets = r.array<uint64_t>(off_tag, count + 1);
  const std::string_view b = r.bytes(blob_tag);
  v.blob = b.data();
  v.blob_size = b.size();
  v.count = uint32_t(count);
  v.reader = &r;
  v.off_tag = off_tag;
  v.blob_tag = blob_tag;
  r.check_elements<uint64_t>(off_tag, 0, 1);
  r.check_elements<uint64_t>(off_tag, count, 1);
  if (v.offsets[0] != 0 || v.offsets[count] != b.size())
    r.corrupt("id table " + tag_name(blob_tag) + " bounds");
  if (!check) return v;
  for (uint64_t i = 0; i < count; ++i) {
    if (v.offsets[i + 1] < v.offsets[i])
      r.corrupt("id table " + tag_name(blob_tag) + " offsets not ascending");
    if (i > 0 && !(v.at(uint32_t(i - 1)) < v.at(uint32_t(i))))
      r.corrupt("ids in " + tag_name(blob_tag) + " not strictly ascending");
  }
  return v;
}

std::optional<uint32_t> IdView::find(std::string_view id) const {
  uint32_t lo = 0, hi = count;
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (at(mid) < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < count && at(lo) == id) return lo;
  return std::nullopt;
}

IdIndex::IdIndex(const IdView& ids) : ids_(ids) {
  size_t n = 16;
  while (n < 2 * size_t(ids.count)) n *= 2;
  slots_.assign(n, 0);
  for (uint32_t i = 0; i < ids.count; ++i) {
    size_t at = std::hash<std::string_view>()(ids.at(i)) & (n - 1);
    while (slots_[at] != 0) at = (at + 1) & (n - 1);
    slots_[at] = i + 1;
  }
}

std::optional<uint32_t> IdIndex::find(std::string_view id) const {
  if (slots_.empty()) return std::nullopt;
  const size_t mask = slots_.size() - 1;
  for (size_t at = std::hash<std::string_view>()(id) & mask; slots_[at] != 0; at = (at + 1) & mask)
    if (ids_.at(slots_[at] - 1) == id) return slots_[at] - 1;
  return std::nullopt;
}

LocationSections::LocationSections(const std::vector<std::string>& ids, const uint32_t* of_user,
                                   uint64_t n_users)
    : table_(ids), of_user_(of_user), n_users_(n_users) {
  if (ids.empty()) return;
  if (!of_user) throw std::logic_error("LocationSections: locations without a location per user");
  for (uint64_t u = 0; u < n_users; ++u)
    if (of_user[u] >= ids.size() && of_user[u] != kNoLocation)
      throw std::logic_error("LocationSections: a user's location is out of range");
}

std::vector<std::pair<uint32_t, uint64_t>> LocationSections::sizes() const {
  if (table_.offsets.size() == 1) return {};
  return {{kLocationOff, table_.offsets.size() * 8},
          {kLocationIds, table_.blob.size()},
          {kUserLocation, n_users_ * 4}};
}

void LocationSections::append(ContainerStream& w, size_t first) const {
  if (table_.offsets.size() == 1) return;
  w.append(first, table_.offsets);
  w.append(first + 1, table_.blob.data(), table_.blob.size());
  w.append(first + 2, of_user_, n_users_ * 4);
}

LocationView read_locations(const ContainerReader& r, uint64_t n_users, bool check) {
  LocationView l;
  if (!r.has(kLocationOff) && !r.has(kLocationIds) && !r.has(kUserLocation)) return l;
  const uint64_t off_bytes = r.bytes(kLocationOff).size();
  if (off_bytes % 8 != 0 || off_bytes < 16 || off_bytes / 8 - 1 >= kNoLocation)
    r.corrupt("location table size");
  l.ids = read_id_table(r, kLocationOff, kLocationIds, off_bytes / 8 - 1, check);
  l.of_user = r.array<uint32_t>(kUserLocation, n_users);
  l.reader = &r;
  if (check)
    for (uint64_t u = 0; u < n_users; ++u) l.user(uint32_t(u));
  return l;
}

namespace {
// Pointers first: a row must not send the index loop past the section.
void check_csr_rows(const ContainerReader& r, const CsrView& m, uint32_t begin, uint32_t end,
                    const char* what) {
  for (uint32_t i = begin; i < end; ++i)
    if (m.indptr[i + 1] < m.indptr[i] || m.indptr[i + 1] > m.nnz())
      r.corrupt(std::string(what) + " row pointers not ascending");
  for (uint32_t i = begin; i < end; ++i) {
    for (uint64_t k = m.indptr[i]; k < m.indptr[i + 1]; ++k) {
      if (m.indices[k] >= m.cols) r.corrupt(std::string(what) + " column index out of range");
      if (k > m.indptr[i] && m.indices[k] <= m.indices[k - 1])
        r.corrupt(std::string(what) + " column indices not ascending");
    }
  }
}
}  // namespace

void check_csr(const ContainerReader& r, const CsrView& m, const char* what) {
  if (m.indptr[0] != 0) r.corrupt(std::string(what) + " row pointer does not start at 0");
  check_csr_rows(r, m, 0, m.rows, what);
}

namespace {
// The sections of a dataset file, in file order, as ContainerStream numbers them.
enum Part : size_t {
  kPartDims,
  kPartMeta,
  kPartUserOff,
  kPartUserIds,
  kPartVideoOff,
  kPartVideoIds,
  kPartRowPtr,
  kPartRowIdx,
  kPartRowWgt,
  kPartRowEvents,
  kPartRowFirst,
  kPartRowLast,
  kPartColPtr,
  kPartColIdx,
  kPartColWgt
};
}  // namespace

struct DatasetWriter::Impl {
  AtomicFile out;
  std::unique_ptr<ContainerStream> stream;
  std::vector<uint64_t> indptr, col_next, col_end;
  // The transpose, row and weight side by side: entries arrive scattered
  // over the videos, and each then dirties one cache line rather than two.
  struct ColEntry {
    uint32_t row;
    float weight;
  };
  std::vector<ColEntry> cols;
  uint64_t k = 0, nnz = 0;
  uint32_t row = 0;
  explicit Impl(const std::string& path) : out(path) {}
};

DatasetWriter::DatasetWriter(const std::string& path, const std::vector<std::string>& user_ids,
                             const std::vector<std::string>& video_ids, const std::vector<uint64_t>& indptr,
                             const std::vector<uint64_t>& video_counts, const nlohmann::json& provenance,
                             const UserLocations& locations)
    : impl_(std::make_unique<Impl>(path)) {
  Impl& m = *impl_;
  const uint64_t n_users = user_ids.size(), n_videos = video_ids.size();
  if (indptr.size() != n_users + 1 || indptr[0] != 0 || !std::is_sorted(indptr.begin(), indptr.end()) ||
      video_counts.size() != n_videos || (!locations.ids.empty() && locations.of_user.size() != n_users))
    throw std::logic_error("DatasetWriter: row pointers, video counts or user locations do not fit the ids");
  m.nnz = indptr.back();
  std::vector<uint64_t> col_ptr(n_videos + 1, 0);
  for (size_t v = 0; v < n_videos; ++v) col_ptr[v + 1] = col_ptr[v] + video_counts[v];
  if (col_ptr.back() != m.nnz)
    throw std::logic_error("DatasetWriter: video counts do not sum to the entries");
  m.indptr = indptr;
  m.col_next.assign(col_ptr.begin(), col_ptr.end() - 1);
  m.col_end.assign(col_ptr.begin() + 1, col_ptr.end());
  resize_huge(m.cols, m.nnz);

  const std::vector<uint64_t> dims{n_users, n_videos, m.nnz};
  // Input paths need not be UTF-8, which JSON requires: replaced, not thrown on.
  const std::string meta = provenance.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const IdTable users(user_ids), videos(video_ids);
  const LocationSections where(locations.ids, locations.of_user.data(), n_users);
  const uint64_t n4 = m.nnz * 4, n8 = m.nnz * 8;
  std::vector<std::pair<uint32_t, uint64_t>> sections{{kDims, 24},
                                                      {kMeta, meta.size()},
                                                      {kUserOff, users.offsets.size() * 8},
                                                      {kUserIds, users.blob.size()},
                                                      {kVideoOff, videos.offsets.size() * 8},
                                                      {kVideoIds, videos.blob.size()},
                                                      {kRowPtr, indptr.size() * 8},
                                                      {kRowIdx, n4},
                                                      {kRowWgt, n4},
                                                      {kRowEvents, n4},
                                                      {kRowFirst, n8},
                                                      {kRowLast, n8},
                                                      {kColPtr, col_ptr.size() * 8},
                                                      {kColIdx, n4},
                                                      {kColWgt, n4}};
  for (const auto& s : where.sizes()) sections.push_back(s);
  m.stream = std::make_unique<ContainerStream>(m.out, "VRDS", kDatasetVersion, sections);
  ContainerStream& w = *m.stream;
  where.append(w, kPartColWgt + 1);
  w.append(kPartDims, dims);
  w.append(kPartMeta, meta.data(), meta.size());
  w.append(kPartUserOff, users.offsets);
  w.append(kPartUserIds, users.blob.data(), users.blob.size());
  w.append(kPartVideoOff, videos.offsets);
  w.append(kPartVideoIds, videos.blob.data(), videos.blob.size());
  w.append(kPartRowPtr, indptr);
  w.append(kPartColPtr, col_ptr);
}

DatasetWriter::~DatasetWriter() = default;

void DatasetWriter::append(const EntryBlock& b) {
  Impl& m = *impl_;
  if (b.size > m.nnz - m.k) throw std::logic_error("DatasetWriter: more entries than the row pointers hold");
  for (size_t i = 0; i < b.size; ++i, ++m.k) {
    while (m.k == m.indptr[m.row + 1]) ++m.row;
    const uint32_t v = b.indices[i];
    if (v >= m.col_next.size() || m.col_next[v] == m.col_end[v])
      throw std::logic_error("DatasetWriter: an entry beyond its video's count");
    const uint64_t at = m.col_next[v]++;
    m.cols[at] = {m.row, b.weights[i]};
  }
  ContainerStream& w = *m.stream;
  w.append(kPartRowIdx, b.indices, b.size * 4);
  w.append(kPartRowWgt, b.weights, b.size * 4);
  w.append(kPartRowEvents, b.events, b.size * 4);
  w.append(kPartRowFirst, b.first_ts, b.size * 8);
  w.append(kPartRowLast, b.last_ts, b.size * 8);
}

uint64_t DatasetWriter::commit() {
  Impl& m = *impl_;
  if (m.k != m.nnz) throw std::logic_error("DatasetWriter: fewer entries than the row pointers hold");
  // Split into the two sections through a small buffer.
  std::vector<uint32_t> buf(size_t(1) << 16);
  for (const size_t part : {kPartColIdx, kPartColWgt})
    for (uint64_t k = 0; k < m.nnz; k += buf.size()) {
      const size_t n = size_t(std::min<uint64_t>(buf.size(), m.nnz - k));
      for (size_t i = 0; i < n; ++i) {
        const Impl::ColEntry& e = m.cols[k + i];
        if (part == kPartColIdx)
          buf[i] = e.row;
        else
          std::memcpy(&buf[i], &e.weight, 4);
      }
      m.stream->append(part, buf.data(), n * 4);
    }
  return m.stream->commit();
}

uint64_t write_dataset(const DatasetData& d, const std::string& path) {
  const uint64_t nnz = d.indices.size();
  if (d.indptr.empty() || d.indptr.back() != nnz || d.weights.size() != nnz || d.events.size() != nnz ||
      d.first_ts.size() != nnz || d.last_ts.size() != nnz)
    throw std::logic_error("write_dataset: inconsistent DatasetData");
  std::vector<uint64_t> video_counts(d.video_ids.size());
  for (const uint32_t v : d.indices) {
    if (v >= video_counts.size()) throw std::logic_error("write_dataset: video index out of range");
    ++video_counts[v];
  }
  DatasetWriter w(path, d.user_ids, d.video_ids, d.indptr, video_counts, d.provenance, d.locations);
  w.append({d.indices.data(), d.weights.data(), d.events.data(), d.first_ts.data(), d.last_ts.data(), nnz});
  return w.commit();
}

Dataset Dataset::open(const std::string& path, Verify verify) {
  return from_file(open_container_file(path), verify);
}

Dataset Dataset::from_file(std::shared_ptr<const MappedFile> file, Verify verify) {
  Dataset ds;
  const bool full = verify == Verify::Full;
  auto r = std::make_shared<const ContainerReader>(std::move(file), "VRDS", kDatasetVersion, full);
  ds.reader_ = r;
  ds.version_ = r->version();
  r->check_all(kDims);
  r->check_all(kMeta);
  const uint64_t* dims = r->array<uint64_t>(kDims, 3);
  if (dims[0] >= UINT32_MAX || dims[1] >= UINT32_MAX) r->corrupt("dimensions out of range");
  ds.n_users_ = uint32_t(dims[0]);
  ds.n_videos_ = uint32_t(dims[1]);
  ds.nnz_ = dims[2];
  ds.users_ = read_id_table(*r, kUserOff, kUserIds, ds.n_users_, full);
  ds.videos_ = read_id_table(*r, kVideoOff, kVideoIds, ds.n_videos_, full);
  ds.locations_ = read_locations(*r, ds.n_users_, full);

  ds.rows_ = {ds.n_users_, ds.n_videos_, r->array<uint64_t>(kRowPtr, ds.n_users_ + uint64_t{1}),
              r->array<uint32_t>(kRowIdx, ds.nnz_), r->array<float>(kRowWgt, ds.nnz_)};
  ds.cols_ = {ds.n_videos_, ds.n_users_, r->array<uint64_t>(kColPtr, ds.n_videos_ + uint64_t{1}),
              r->array<uint32_t>(kColIdx, ds.nnz_), r->array<float>(kColWgt, ds.nnz_)};
  r->check_elements<uint64_t>(kRowPtr, 0, 1);
  r->check_elements<uint64_t>(kRowPtr, ds.n_users_, 1);
  r->check_elements<uint64_t>(kColPtr, 0, 1);
  r->check_elements<uint64_t>(kColPtr, ds.n_videos_, 1);
  if (ds.rows_.indptr[ds.n_users_] != ds.nnz_ || ds.cols_.indptr[ds.n_videos_] != ds.nnz_)
    r->corrupt("row pointers do not end at the entry count");
  if (full) {
    check_csr(*r, ds.rows_, "user x video matrix");
    check_csr(*r, ds.cols_, "video x user matrix");
  }
  ds.events_ = r->array<uint32_t>(kRowEvents, ds.nnz_);
  ds.first_ts_ = r->array<int64_t>(kRowFirst, ds.nnz_);
  ds.last_ts_ = r->array<int64_t>(kRowLast, ds.nnz_);

  const std::string_view meta = r->bytes(kMeta);
  ds.provenance_ = nlohmann::json::parse(meta.begin(), meta.end(), nullptr, false);
  if (ds.provenance_.is_discarded()) r->corrupt("provenance is not valid JSON");

  std::vector<uint64_t> sums;
  for (const SectionInfo& s : r->sections())
    if (s.tag != kMeta && s.tag != kBlockSumsTag) {  // the content, whatever the format version
      sums.push_back(s.tag);
      sums.push_back(s.checksum);
    }
  ds.content_checksum_ = checksum64(sums.data(), sums.size() * sizeof(uint64_t));
  return ds;
}

void Dataset::check_rows(bool transpose, uint32_t begin, uint32_t end) const {
  const ContainerReader& r = *reader_;
  const CsrView& m = transpose ? cols_ : rows_;
  if (begin > end || end > m.rows) throw std::invalid_argument("Dataset::check_rows: bad row range");
  if (!r.lazy()) return;  // checked whole when opened
  r.check_elements<uint64_t>(transpose ? kColPtr : kRowPtr, begin, uint64_t(end - begin) + 1);
  const uint64_t first = m.indptr[begin], last = m.indptr[end];
  if (first > last || last > nnz_) r.corrupt("row pointers out of range");
  r.check_elements<uint32_t>(transpose ? kColIdx : kRowIdx, first, last - first);
  r.check_elements<float>(transpose ? kColWgt : kRowWgt, first, last - first);
  check_csr_rows(r, m, begin, end, transpose ? "video x user matrix" : "user x video matrix");
}

}  // namespace vidrec
