// SPDX-License-Identifier: MIT
#include "vidrec/model/model.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "vidrec/base/errors.hpp"

namespace vidrec {

using namespace section;

namespace {
bool all_finite(const float* x, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}
}  // namespace

uint64_t write_model(const Dataset& ds, const ModelData& data, const std::string& path) {
  const uint64_t n_users = ds.n_users(), n_videos = ds.n_videos(), nnz = ds.nnz(), f = data.factors;
  if (!data.user_factors == !data.user_chunks)
    throw std::logic_error("write_model: give user_factors or user_chunks, not both");
  const std::string not_finite = path + ": not written: the factors hold NaN or infinity";
  if ((data.user_factors && !all_finite(data.user_factors, n_users * f)) ||
      !all_finite(data.video_factors, n_videos * f))
    throw InputError(not_finite);
  const std::vector<uint64_t> dims{n_users, n_videos, f, nnz};
  // The dataset path need not be UTF-8, which JSON requires: replaced, not thrown on.
  const std::string meta = data.meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);

  std::vector<std::string> users, videos;
  users.reserve(n_users);
  videos.reserve(n_videos);
  for (uint32_t u = 0; u < n_users; ++u) users.emplace_back(ds.user_id(u));
  for (uint32_t v = 0; v < n_videos; ++v) videos.emplace_back(ds.video_id(v));
  const IdTable user_table(users), video_table(videos);
  users = {};
  videos = {};

  // Popularity: distinct users per video; ties broken by video index so the
  // order is reproducible.
  const CsrView cols = ds.item_users();
  std::vector<uint32_t> popularity(n_videos), order(n_videos);
  for (uint32_t v = 0; v < n_videos; ++v) popularity[v] = uint32_t(cols.row_end(v) - cols.row_begin(v));
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return popularity[a] > popularity[b]; });

  const std::vector<float> panel = make_panel(data.video_factors, data.factors, uint32_t(n_videos));
  std::vector<float> inv_norms(panel_stride(uint32_t(n_videos)), 0.0f);
  for (uint64_t v = 0; v < n_videos; ++v) {
    double sq = 0;
    for (uint32_t k = 0; k < data.factors; ++k)
      sq += double(data.video_factors[v * f + k]) * data.video_factors[v * f + k];
    inv_norms[v] = sq > 0 ? float(1 / std::sqrt(sq)) : 0.0f;  // a zero vector is similar to nothing
  }

  const CsrView rows = ds.user_items();
  const uint64_t user_bytes = n_users * f * sizeof(float);
  AtomicFile out(path);
  // Sections in file order; the user factors may arrive a chunk at a time.
  ContainerStream w(out, "VRMD", kModelVersion,
                    {{kDims, dims.size() * 8},
                     {kMeta, meta.size()},
                     {kUserOff, user_table.offsets.size() * 8},
                     {kUserIds, user_table.blob.size()},
                     {kVideoOff, video_table.offsets.size() * 8},
                     {kVideoIds, video_table.blob.size()},
                     {kUserFactors, user_bytes},
                     {kVideoFactors, n_videos * f * sizeof(float)},
                     {kSeenPtr, (n_users + 1) * sizeof(uint64_t)},
                     {kSeenIdx, nnz * sizeof(uint32_t)},
                     {kPopularity, popularity.size() * 4},
                     {kPopularOrder, order.size() * 4},
                     {kPanel, panel.size() * 4},
                     {kInvNorms, inv_norms.size() * 4}});
  size_t i = 0;
  w.append(i++, dims);
  w.append(i++, meta.data(), meta.size());
  w.append(i++, user_table.offsets);
  w.append(i++, user_table.blob.data(), user_table.blob.size());
  w.append(i++, video_table.offsets);
  w.append(i++, video_table.blob.data(), video_table.blob.size());
  if (data.user_factors) {
    w.append(i++, data.user_factors, user_bytes);
  } else {
    std::vector<float> chunk;
    for (uint64_t first = 0; first < n_users; first += data.user_chunk) {
      const auto count = uint32_t(std::min<uint64_t>(data.user_chunk, n_users - first));
      chunk.resize(size_t(count) * f);
      data.user_chunks(uint32_t(first), count, chunk.data());
      if (!all_finite(chunk.data(), chunk.size())) throw InputError(not_finite);
      w.append(i, chunk);
    }
    ++i;
  }
  w.append(i++, data.video_factors, n_videos * f * sizeof(float));
  w.append(i++, rows.indptr, (n_users + 1) * sizeof(uint64_t));
  w.append(i++, rows.indices, nnz * sizeof(uint32_t));
  w.append(i++, popularity);
  w.append(i++, order);
  w.append(i++, panel);
  w.append(i++, inv_norms);
  return w.commit();
}

Model Model::open(const std::string& path, Verify verify) {
  return from_file(open_container_file(path), verify);
}

Model Model::from_file(std::shared_ptr<const MappedFile> file, Verify verify) {
  Model m;
  const bool full = verify == Verify::Full;
  auto reader = std::make_shared<ContainerReader>(std::move(file), "VRMD", kModelVersion, full);
  for (const uint32_t tag : {kUserFactors, kVideoFactors, kPanel, kInvNorms})
    if (reader->has(tag)) reader->require_finite(tag);
  const std::shared_ptr<const ContainerReader> r = reader;
  m.reader_ = r;
  r->check_all(kDims);
  r->check_all(kMeta);
  const uint64_t* dims = r->array<uint64_t>(kDims, 4);
  if (dims[0] >= UINT32_MAX || dims[1] >= UINT32_MAX || dims[2] == 0 || dims[2] > 65536)
    r->corrupt("dimensions out of range");
  m.n_users_ = uint32_t(dims[0]);
  m.n_videos_ = uint32_t(dims[1]);
  m.factors_ = uint32_t(dims[2]);
  const uint64_t nnz = dims[3];
  m.users_ = read_id_table(*r, kUserOff, kUserIds, m.n_users_, full);
  m.videos_ = read_id_table(*r, kVideoOff, kVideoIds, m.n_videos_, full);
  m.user_factors_ = r->array<float>(kUserFactors, uint64_t(m.n_users_) * m.factors_);
  m.video_factors_ = r->array<float>(kVideoFactors, uint64_t(m.n_videos_) * m.factors_);
  m.seen_ptr_ = r->array<uint64_t>(kSeenPtr, m.n_users_ + uint64_t{1});
  m.seen_idx_ = r->array<uint32_t>(kSeenIdx, nnz);
  r->check_elements<uint64_t>(kSeenPtr, m.n_users_, 1);
  if (m.seen_ptr_[m.n_users_] != nnz) r->corrupt("seen-video pointers do not end at the entry count");
  m.popularity_ = r->array<uint32_t>(kPopularity, m.n_videos_);
  m.popular_order_ = r->array<uint32_t>(kPopularOrder, m.n_videos_);
  const uint32_t stride = panel_stride(m.n_videos_);
  m.panel_ = r->array<float>(kPanel, uint64_t(stride) * m.factors_);
  m.inv_norms_ = r->array<float>(kInvNorms, stride);
  if (full) {
    check_csr(*r, CsrView{m.n_users_, m.n_videos_, m.seen_ptr_, m.seen_idx_, nullptr}, "seen-video matrix");
    for (uint32_t i = 0; i < m.n_videos_; ++i)
      if (m.popular_order_[i] >= m.n_videos_) r->corrupt("popularity order out of range");
  }
  const std::string_view meta = r->bytes(kMeta);
  m.meta_ = nlohmann::json::parse(meta.begin(), meta.end(), nullptr, false);
  if (m.meta_.is_discarded()) r->corrupt("metadata is not valid JSON");
  return m;
}

const float* Model::user_factors() const {
  reader_->check_all(kUserFactors);
  return user_factors_;
}

const float* Model::video_factors() const {
  reader_->check_all(kVideoFactors);
  return video_factors_;
}

std::pair<const uint32_t*, const uint32_t*> Model::seen(uint32_t u) const {
  reader_->check_elements<uint64_t>(kSeenPtr, u, 2);
  const uint64_t b = seen_ptr_[u], e = seen_ptr_[u + 1];
  if (b > e || e > seen_total()) reader_->corrupt("seen-video pointers of user " + std::to_string(u));
  reader_->check_elements<uint32_t>(kSeenIdx, b, e - b);
  return {seen_idx_ + b, seen_idx_ + e};
}

const uint32_t* Model::popularity() const {
  reader_->check_all(kPopularity);
  return popularity_;
}

uint32_t Model::popular(uint32_t i) const {
  reader_->check_elements<uint32_t>(kPopularOrder, i, 1);
  const uint32_t v = popular_order_[i];
  if (v >= n_videos_) reader_->corrupt("popularity order out of range");
  return v;
}

const uint32_t* Model::popular_order() const {
  reader_->check_all(kPopularOrder);
  return popular_order_;
}

VideoPanel Model::panel(bool cosine) const {
  reader_->check_all(kPanel);
  if (cosine) reader_->check_all(kInvNorms);
  return {panel_, cosine ? inv_norms_ : nullptr, n_videos_, panel_stride(n_videos_), factors_};
}

uint64_t Model::factors_checksum() const {
  std::vector<uint64_t> sums;
  for (const SectionInfo& s : reader_->sections())
    if (s.tag == kUserFactors || s.tag == kVideoFactors) sums.push_back(s.checksum);
  return checksum64(sums.data(), sums.size() * sizeof(uint64_t));
}

}  // namespace vidrec
