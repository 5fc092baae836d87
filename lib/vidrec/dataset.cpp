// SPDX-License-Identifier: MIT
#include "vidrec/dataset.hpp"

#include <algorithm>
#include <functional>

#include "vidrec/errors.hpp"
#include "vidrec/huge_pages.hpp"

namespace vidrec {

namespace {
using namespace section;
constexpr uint32_t kRowPtr = make_tag("RPTR"), kRowIdx = make_tag("RIDX"), kRowWgt = make_tag("RWGT");
constexpr uint32_t kRowEvents = make_tag("REVT"), kRowFirst = make_tag("RTS0"), kRowLast = make_tag("RTS1");
constexpr uint32_t kColPtr = make_tag("CPTR"), kColIdx = make_tag("CIDX"), kColWgt = make_tag("CWGT");

struct Transpose {
  std::vector<uint64_t> indptr;
  std::vector<uint32_t> indices;
  std::vector<float> weights;
};

// Counting sort by column; rows come out ascending within each column.
Transpose transpose(const DatasetData& d) {
  const size_t n_rows = d.user_ids.size(), n_cols = d.video_ids.size();
  Transpose t;
  t.indptr.assign(n_cols + 1, 0);
  for (uint32_t c : d.indices) ++t.indptr[c + 1];
  for (size_t c = 0; c < n_cols; ++c) t.indptr[c + 1] += t.indptr[c];
  resize_huge(t.indices, d.indices.size());
  resize_huge(t.weights, d.indices.size());
  std::vector<uint64_t> next(t.indptr.begin(), t.indptr.end() - 1);
  for (uint32_t r = 0; r < n_rows; ++r)
    for (uint64_t k = d.indptr[r]; k < d.indptr[r + 1]; ++k) {
      const uint64_t at = next[d.indices[k]]++;
      t.indices[at] = r;
      t.weights[at] = d.weights[k];
    }
  return t;
}
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

void check_csr(const ContainerReader& r, const CsrView& m, const char* what) {
  if (m.indptr[0] != 0) r.corrupt(std::string(what) + " row pointer does not start at 0");
  for (uint32_t i = 0; i < m.rows; ++i) {
    if (m.indptr[i + 1] < m.indptr[i]) r.corrupt(std::string(what) + " row pointers not ascending");
    for (uint64_t k = m.indptr[i]; k < m.indptr[i + 1]; ++k) {
      if (m.indices[k] >= m.cols) r.corrupt(std::string(what) + " column index out of range");
      if (k > m.indptr[i] && m.indices[k] <= m.indices[k - 1])
        r.corrupt(std::string(what) + " column indices not ascending");
    }
  }
}

uint64_t write_dataset(const DatasetData& d, const std::string& path) {
  const uint64_t n_users = d.user_ids.size(), n_videos = d.video_ids.size(), nnz = d.indices.size();
  if (d.indptr.size() != n_users + 1 || d.indptr.back() != nnz || d.weights.size() != nnz ||
      d.events.size() != nnz || d.first_ts.size() != nnz || d.last_ts.size() != nnz)
    throw std::logic_error("write_dataset: inconsistent DatasetData");
  const std::vector<uint64_t> dims{n_users, n_videos, nnz};
  const std::string meta = d.provenance.dump();
  const IdTable users(d.user_ids), videos(d.video_ids);
  const Transpose t = transpose(d);

  ContainerWriter w("VRDS", kDatasetVersion);
  w.add(kDims, dims);
  w.add(kMeta, meta);
  w.add(kUserOff, users.offsets);
  w.add(kUserIds, users.blob);
  w.add(kVideoOff, videos.offsets);
  w.add(kVideoIds, videos.blob);
  w.add(kRowPtr, d.indptr);
  w.add(kRowIdx, d.indices);
  w.add(kRowWgt, d.weights);
  w.add(kRowEvents, d.events);
  w.add(kRowFirst, d.first_ts);
  w.add(kRowLast, d.last_ts);
  w.add(kColPtr, t.indptr);
  w.add(kColIdx, t.indices);
  w.add(kColWgt, t.weights);
  AtomicFile out(path);
  return w.write(out);
}

Dataset Dataset::open(const std::string& path) { return from_file(MappedFile::open(path)); }

Dataset Dataset::from_file(std::shared_ptr<const MappedFile> file) {
  Dataset ds;
  auto r = std::make_shared<const ContainerReader>(std::move(file), "VRDS", kDatasetVersion);
  ds.reader_ = r;
  ds.version_ = r->version();
  const uint64_t* dims = r->array<uint64_t>(kDims, 3);
  if (dims[0] >= UINT32_MAX || dims[1] >= UINT32_MAX) r->corrupt("dimensions out of range");
  ds.n_users_ = uint32_t(dims[0]);
  ds.n_videos_ = uint32_t(dims[1]);
  ds.nnz_ = dims[2];
  ds.users_ = read_id_table(*r, kUserOff, kUserIds, ds.n_users_);
  ds.videos_ = read_id_table(*r, kVideoOff, kVideoIds, ds.n_videos_);

  ds.rows_ = {ds.n_users_, ds.n_videos_, r->array<uint64_t>(kRowPtr, ds.n_users_ + uint64_t{1}),
              r->array<uint32_t>(kRowIdx, ds.nnz_), r->array<float>(kRowWgt, ds.nnz_)};
  ds.cols_ = {ds.n_videos_, ds.n_users_, r->array<uint64_t>(kColPtr, ds.n_videos_ + uint64_t{1}),
              r->array<uint32_t>(kColIdx, ds.nnz_), r->array<float>(kColWgt, ds.nnz_)};
  if (ds.rows_.indptr[ds.n_users_] != ds.nnz_ || ds.cols_.indptr[ds.n_videos_] != ds.nnz_)
    r->corrupt("row pointers do not end at the entry count");
  check_csr(*r, ds.rows_, "user x video matrix");
  check_csr(*r, ds.cols_, "video x user matrix");
  ds.events_ = r->array<uint32_t>(kRowEvents, ds.nnz_);
  ds.first_ts_ = r->array<int64_t>(kRowFirst, ds.nnz_);
  ds.last_ts_ = r->array<int64_t>(kRowLast, ds.nnz_);

  const std::string_view meta = r->bytes(kMeta);
  ds.provenance_ = nlohmann::json::parse(meta.begin(), meta.end(), nullptr, false);
  if (ds.provenance_.is_discarded()) r->corrupt("provenance is not valid JSON");

  std::vector<uint64_t> sums;
  for (const SectionInfo& s : r->sections())
    if (s.tag != kMeta) {
      sums.push_back(s.tag);
      sums.push_back(s.checksum);
    }
  ds.content_checksum_ = checksum64(sums.data(), sums.size() * sizeof(uint64_t));
  return ds;
}

}  // namespace vidrec
