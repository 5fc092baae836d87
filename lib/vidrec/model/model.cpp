// SPDX-License-Identifier: MIT
#include "vidrec/model/model.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <utility>

#include "vidrec/base/errors.hpp"

namespace vidrec {

using namespace section;

namespace {
bool all_finite(const float* x, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) return false;
  return true;
}

// Per location, its users and its videos ranked by the number of its users
// with a positive pair on them (ties to the lower index), as CSR rows.
struct LocationRanking {
  std::vector<uint32_t> of_user, users;
  std::vector<uint64_t> ptr;
  std::vector<uint32_t> videos, counts;
};

LocationRanking rank_locations(const Dataset& ds) {
  const uint32_t n_loc = ds.n_locations(), n_users = ds.n_users();
  LocationRanking r;
  if (n_loc == 0) return r;
  r.of_user.resize(n_users);
  r.users.assign(n_loc, 0);
  for (uint32_t u = 0; u < n_users; ++u)
    if ((r.of_user[u] = ds.user_location(u)) != kNoLocation) ++r.users[r.of_user[u]];
  // The users of each location together (a counting sort), so each location
  // is counted in one pass over its users' rows.
  std::vector<uint64_t> first(n_loc + 1, 0);
  for (uint32_t l = 0; l < n_loc; ++l) first[l + 1] = first[l] + r.users[l];
  std::vector<uint32_t> by_location(first.back());
  std::vector<uint64_t> next(first.begin(), first.end() - 1);
  for (uint32_t u = 0; u < n_users; ++u)
    if (r.of_user[u] != kNoLocation) by_location[next[r.of_user[u]]++] = u;

  const CsrView rows = ds.user_items();
  std::vector<uint32_t> count(ds.n_videos(), 0), touched;
  r.ptr.assign(1, 0);
  for (uint32_t l = 0; l < n_loc; ++l) {
    touched.clear();
    for (uint64_t i = first[l]; i < first[l + 1]; ++i)
      for (uint64_t k = rows.row_begin(by_location[i]); k < rows.row_end(by_location[i]); ++k)
        if (rows.values[k] > 0 && count[rows.indices[k]]++ == 0) touched.push_back(rows.indices[k]);
    std::sort(touched.begin(), touched.end(), [&count](uint32_t a, uint32_t b) {
      return count[a] != count[b] ? count[a] > count[b] : a < b;
    });
    for (const uint32_t v : touched) {
      r.videos.push_back(v);
      r.counts.push_back(std::exchange(count[v], 0));
    }
    r.ptr.push_back(r.videos.size());
  }
  return r;
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

  // Popularity: users with a positive pair (negative feedback is no vote
  // for a video); ties broken by video index so the order is reproducible.
  const CsrView cols = ds.item_users();
  std::vector<uint32_t> popularity(n_videos, 0), order(n_videos);
  for (uint32_t v = 0; v < n_videos; ++v)
    for (uint64_t k = cols.row_begin(v); k < cols.row_end(v); ++k) popularity[v] += cols.values[k] > 0;
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

  std::vector<std::string> location_ids;
  for (uint32_t l = 0; l < ds.n_locations(); ++l) location_ids.emplace_back(ds.location_id(l));
  const LocationRanking ranking = rank_locations(ds);
  const LocationSections where(location_ids, ranking.of_user.data(), n_users);

  const CsrView rows = ds.user_items();
  const uint64_t user_bytes = n_users * f * sizeof(float);
  AtomicFile out(path);
  // Sections in file order; the user factors may arrive a chunk at a time.
  std::vector<std::pair<uint32_t, uint64_t>> sections{{kDims, dims.size() * 8},
                                                      {kMeta, meta.size()},
                                                      {kUserOff, user_table.offsets.size() * 8},
                                                      {kUserIds, user_table.blob.size()},
                                                      {kVideoOff, video_table.offsets.size() * 8},
                                                      {kVideoIds, video_table.blob.size()},
                                                      {kUserFactors, user_bytes},
                                                      {kVideoFactors, n_videos * f * sizeof(float)},
                                                      {kSeenPtr, (n_users + 1) * sizeof(uint64_t)},
                                                      {kSeenIdx, nnz * sizeof(uint32_t)},
                                                      {kSeenWeights, nnz * sizeof(float)},
                                                      {kPopularity, popularity.size() * 4},
                                                      {kPopularOrder, order.size() * 4},
                                                      {kPanel, panel.size() * 4},
                                                      {kInvNorms, inv_norms.size() * 4}};
  if (!location_ids.empty()) {
    for (const auto& s : where.sizes()) sections.push_back(s);
    sections.insert(sections.end(), {{kLocationUsers, ranking.users.size() * 4},
                                     {kLocationPtr, ranking.ptr.size() * 8},
                                     {kLocationVideos, ranking.videos.size() * 4},
                                     {kLocationCounts, ranking.counts.size() * 4}});
  }
  for (const auto& [tag, bytes] : data.extra) sections.push_back({tag, bytes.size()});
  ContainerStream w(out, "VRMD", kModelVersion, sections);
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
  const float* weights = data.seen_weights ? data.seen_weights : rows.values;
  if (!all_finite(weights, nnz)) throw InputError(path + ": not written: a training weight is not finite");
  w.append(i++, weights, nnz * sizeof(float));
  w.append(i++, popularity);
  w.append(i++, order);
  w.append(i++, panel);
  w.append(i++, inv_norms);
  if (!location_ids.empty()) {
    where.append(w, i);
    i += 3;
    w.append(i++, ranking.users);
    w.append(i++, ranking.ptr);
    w.append(i++, ranking.videos);
    w.append(i++, ranking.counts);
  }
  for (const auto& [tag, bytes] : data.extra) w.append(i++, bytes.data(), bytes.size());
  return w.commit();
}

Model Model::open(const std::string& path, Verify verify) {
  return from_file(open_container_file(path), verify);
}

Model Model::from_file(std::shared_ptr<const MappedFile> file, Verify verify) {
  Model m;
  const bool full = verify == Verify::Full;
  auto reader = std::make_shared<ContainerReader>(std::move(file), "VRMD", kModelVersion, full);
  for (const uint32_t tag : {kUserFactors, kVideoFactors, kPanel, kInvNorms, kSeenWeights})
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
  if (r->has(kSeenWeights)) m.seen_weights_ = r->array<float>(kSeenWeights, nnz);
  r->check_elements<uint64_t>(kSeenPtr, m.n_users_, 1);
  if (m.seen_ptr_[m.n_users_] != nnz) r->corrupt("seen-video pointers do not end at the entry count");
  m.locations_ = read_locations(*r, m.n_users_, full);
  if (const uint32_t n_loc = m.locations_.count()) {
    m.location_users_ = r->array<uint32_t>(kLocationUsers, n_loc);
    m.location_ptr_ = r->array<uint64_t>(kLocationPtr, n_loc + uint64_t{1});
    r->check_elements<uint64_t>(kLocationPtr, 0, 1);
    r->check_elements<uint64_t>(kLocationPtr, n_loc, 1);
    const uint64_t total = m.location_ptr_[n_loc];
    if (m.location_ptr_[0] != 0) r->corrupt("location ranking pointers do not start at 0");
    m.location_videos_ = r->array<uint32_t>(kLocationVideos, total);
    m.location_counts_ = r->array<uint32_t>(kLocationCounts, total);
    m.structure_checked_ = full;
    if (full) {
      for (uint32_t l = 0; l < n_loc; ++l)
        if (m.location_ptr_[l + 1] < m.location_ptr_[l])
          r->corrupt("location ranking pointers not ascending");
      for (uint64_t k = 0; k < total; ++k)
        if (m.location_videos_[k] >= m.n_videos_) r->corrupt("location ranking video out of range");
    }
  }
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
  for (const AnnSpace space : {AnnSpace::InnerProduct, AnnSpace::Cosine}) {
    const uint32_t tag = space == AnnSpace::Cosine ? kAnnCosine : kAnnInnerProduct;
    if (!r->has(tag)) continue;
    r->check_all(tag);  // the checksum first: the structure is then only checked for hostile files
    try {
      m.ann_[size_t(space)] =
          std::make_shared<const AnnGraph>(AnnGraph::view(r->bytes(tag), space, m.n_videos_, m.factors_));
    } catch (const std::runtime_error& e) {
      r->corrupt(e.what());
    }
  }
  return m;
}

uint64_t Model::rewrite(const std::string& path, const nlohmann::json& meta,
                        const std::vector<std::pair<uint32_t, std::string>>& extra) const {
  const std::string meta_text = meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  ContainerWriter w("VRMD", kModelVersion);
  for (const SectionInfo& s : reader_->sections()) {
    if (s.tag == kBlockSumsTag) continue;  // write() adds the new ones
    const auto replaced =
        std::find_if(extra.begin(), extra.end(), [&](const auto& e) { return e.first == s.tag; });
    if (s.tag == kMeta) {
      w.add(kMeta, meta_text);
    } else if (replaced == extra.end()) {
      reader_->check_all(s.tag);
      w.add(s.tag, reader_->bytes(s.tag));
    }
  }
  for (const auto& [tag, bytes] : extra) w.add(tag, bytes);
  AtomicFile out(path);
  return w.write(out);
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

const float* Model::seen_weights(uint32_t u) const {
  if (!seen_weights_) return nullptr;
  const auto [b, e] = seen(u);
  const uint64_t first = uint64_t(b - seen_idx_);
  reader_->check_elements<float>(kSeenWeights, first, uint64_t(e - b));
  return seen_weights_ + first;
}

bool Model::has_profile(uint32_t u) const {
  const float* x = user_vector(u);
  return std::any_of(x, x + factors_, [](float a) { return a != 0.0f; });
}

LocationPopular Model::location_popular(uint32_t l) const {
  if (l >= n_locations())
    throw std::out_of_range("Model::location_popular: no location " + std::to_string(l));
  reader_->check_elements<uint32_t>(kLocationUsers, l, 1);
  reader_->check_elements<uint64_t>(kLocationPtr, l, 2);
  const uint64_t b = location_ptr_[l], e = location_ptr_[l + 1];
  if (b > e || e > location_ptr_[n_locations()])
    reader_->corrupt("location ranking pointers of location " + std::to_string(l));
  reader_->check_elements<uint32_t>(kLocationVideos, b, e - b);
  reader_->check_elements<uint32_t>(kLocationCounts, b, e - b);
  if (!structure_checked_)
    for (uint64_t k = b; k < e; ++k)
      if (location_videos_[k] >= n_videos_) reader_->corrupt("location ranking video out of range");
  return {location_videos_ + b, location_counts_ + b, uint32_t(e - b), location_users_[l]};
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
