// SPDX-License-Identifier: MIT
// The model file (.vrm): what `train` writes and `recommend`/`serve` read.
//
// Contract
// - Holds user and video factors (float32, one contiguous vector per user or
//   video), the id maps (sorted, as in the dataset, so ids are found by binary
//   search in the mapped file), each user's seen videos (CSR, for excluding
//   them: every pair of the dataset, whatever its weight), video popularity
//   (users with a positive pair, w > 0; and the videos ranked by it, ties to
//   the lower index, for cold start), the hyperparameters, the dataset's
//   content checksum and the training statistics (JSON).
// - Locations, when the dataset has them (optional sections; a model without
//   them, older ones included, has none): the dataset's location table and
//   each user's location, the users per location, and per location its
//   videos ranked by popularity among its users (users of the location with
//   a positive pair on the video; ties to the lower video index), only the
//   videos with at least one such user, so the lists hold at most as many
//   entries as the dataset has positive pairs.
// - A user whose factor vector is all zero has no profile (has_profile()):
//   ALS gives exactly 0 to a user without positive pairs, and every score of
//   such a user would be 0.
// - Same container as the dataset (io/container.hpp): versioned, checksummed per
//   section and per 64 KiB block, written atomically, memory-mapped on open so
//   loading costs nothing until a vector is touched. Verify::Full checks every
//   section checksum and the structure (O(file size)); Verify::Header checks
//   the header and section table, and every accessor then verifies the blocks
//   it hands out (once each) and bounds-checks them, so every byte a command
//   uses is verified at a cost proportional to what it reads: a damaged file
//   gives a FormatError, never a crash or a wrong answer. A shell loop that
//   starts `recommend` per user wants the latter. (Version 1 files, without
//   block checksums, are verified whole by both.)
// - Factors, panel and norms must be finite: a file holding NaN or infinity
//   is refused as corrupt (write_model refuses to write one).
// - The video factors are also stored as a scoring panel (panel.hpp) with
//   inverse norms, so recommend and similar stream them without a transpose.
// - Optional ANN sections (ann.hpp: HNSW graphs for inner product and
//   cosine), validated when the model is opened: a damaged one is a
//   FormatError, a model without them has ann() == nullptr.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vidrec/dataset/dataset.hpp"
#include "vidrec/dataset/sparse.hpp"
#include "vidrec/io/container.hpp"
#include "vidrec/model/ann.hpp"
#include "vidrec/model/panel.hpp"

namespace vidrec {

// 2: block checksums (BSUM, io/container.hpp); version 1 files are still read.
constexpr uint32_t kModelVersion = 2;

namespace section {
constexpr uint32_t kUserFactors = make_tag("UFAC"), kVideoFactors = make_tag("VFAC");
constexpr uint32_t kSeenPtr = make_tag("SPTR"), kSeenIdx = make_tag("SIDX");
// Per seen pair, the weight training solved with (after weighting); optional (explain needs it).
constexpr uint32_t kSeenWeights = make_tag("SWGT");
constexpr uint32_t kPopularity = make_tag("POPC"), kPopularOrder = make_tag("POPR");
constexpr uint32_t kPanel = make_tag("VPAN"), kInvNorms = make_tag("VINV");
// Per location: its users, the row pointers of its ranked videos, the videos, their users there.
constexpr uint32_t kLocationUsers = make_tag("LUSR"), kLocationPtr = make_tag("LPTR");
constexpr uint32_t kLocationVideos = make_tag("LVID"), kLocationCounts = make_tag("LCNT");
// HNSW graphs over the video factors (ann.hpp), by space.
constexpr uint32_t kAnnInnerProduct = make_tag("ANNI"), kAnnCosine = make_tag("ANNC");
}  // namespace section

// A location's videos ranked by popularity among its users: `count` of them,
// `videos[i]` liked (w > 0) by `users[i]` of the location's `location_users`.
struct LocationPopular {
  const uint32_t* videos = nullptr;
  const uint32_t* users = nullptr;
  uint32_t count = 0;
  uint32_t location_users = 0;
};

// What train hands to write_model; factors are column-major f x n (one
// column per user/video), exactly the layout stored.
struct ModelData {
  uint32_t factors = 0;
  const float* user_factors = nullptr;  // factors x n_users, or else:
  // Writes users [first, first + count) (factors x count) to `out`; called in
  // user order with `count` = user_chunk (the last chunk shorter), so the
  // largest matrix of a distributed job never has to be in one place.
  std::function<void(uint32_t first, uint32_t count, float* out)> user_chunks;
  uint32_t user_chunk = 1u << 16;
  const float* video_factors = nullptr;  // factors x n_videos
  // The weight of each dataset pair (user_items order) as training saw it,
  // after weighting.hpp's decay/BM25; null = the dataset's own weights.
  const float* seen_weights = nullptr;
  nlohmann::json meta = nlohmann::json::object();       // hyperparameters, dataset, training stats
  std::vector<std::pair<uint32_t, std::string>> extra;  // more sections (tag, bytes): the ANN graphs
};

// Writes atomically; ids, seen videos, popularity and locations come from
// the dataset the factors were trained on. Returns the header checksum.
uint64_t write_model(const Dataset& dataset, const ModelData& data, const std::string& path);

class Model {
 public:
  enum class Verify { Full, Header };
  static Model open(const std::string& path, Verify verify = Verify::Full);
  static Model from_file(std::shared_ptr<const MappedFile> file, Verify verify = Verify::Full);

  uint32_t n_users() const { return n_users_; }
  uint32_t n_videos() const { return n_videos_; }
  uint32_t factors() const { return factors_; }
  // Every accessor verifies what it returns (see the contract).
  const float* user_vector(uint32_t u) const {
    reader_->check_elements<float>(section::kUserFactors, uint64_t(u) * factors_, factors_);
    return user_factors_ + uint64_t(u) * factors_;
  }
  const float* video_vector(uint32_t v) const {
    reader_->check_elements<float>(section::kVideoFactors, uint64_t(v) * factors_, factors_);
    return video_factors_ + uint64_t(v) * factors_;
  }
  const float* user_factors() const;
  const float* video_factors() const;
  // False when user u's factor vector is all zero (see the contract).
  bool has_profile(uint32_t u) const;
  // Videos user u interacted with, ascending: [first, second).
  std::pair<const uint32_t*, const uint32_t*> seen(uint32_t u) const;
  const uint32_t* seen_begin(uint32_t u) const { return seen(u).first; }
  const uint32_t* seen_end(uint32_t u) const { return seen(u).second; }
  uint64_t seen_total() const { return seen_ptr_[n_users_]; }
  // The training weights of seen(u), in the same order; null in a model
  // written before they were stored (explain then needs a retrained model).
  const float* seen_weights(uint32_t u) const;
  // Distinct users per video, and the i-th most popular video.
  const uint32_t* popularity() const;
  uint32_t popular(uint32_t i) const;
  const uint32_t* popular_order() const;  // entries not range-checked under Verify::Header
  // Video factors as a scoring panel; with `cosine`, scores are divided by
  // the videos' norms.
  VideoPanel panel(bool cosine = false) const;
  std::string_view user_id(uint32_t u) const { return users_.at(u); }
  std::string_view video_id(uint32_t v) const { return videos_.at(v); }
  std::optional<uint32_t> find_user(std::string_view id) const { return users_.find(id); }
  std::optional<uint32_t> find_video(std::string_view id) const { return videos_.find(id); }
  const IdView& user_table() const { return users_; }
  const IdView& video_table() const { return videos_; }
  // Locations: 0, and kNoLocation for every user, in a model without them.
  uint32_t n_locations() const { return locations_.count(); }
  std::string_view location_id(uint32_t l) const { return locations_.ids.at(l); }
  std::optional<uint32_t> find_location(std::string_view id) const { return locations_.ids.find(id); }
  uint32_t user_location(uint32_t u) const { return locations_.user(u); }
  LocationPopular location_popular(uint32_t l) const;
  const nlohmann::json& meta() const { return meta_; }
  uint32_t format_version() const { return reader_->version(); }
  uint64_t header_checksum() const { return reader_->header_checksum(); }
  // Checksum of the factor sections only: equal for bit-identical factors.
  uint64_t factors_checksum() const;
  const std::string& path() const { return reader_->file().name(); }
  uint64_t file_size() const { return reader_->file().size(); }
  // The graph of `space`; nullptr when the model has none.
  const AnnGraph* ann(AnnSpace space) const { return ann_[size_t(space)].get(); }
  // Writes this model to `path` (atomically) with `meta` and the sections of
  // `extra` in place of its own of those tags (added when it has none).
  uint64_t rewrite(const std::string& path, const nlohmann::json& meta,
                   const std::vector<std::pair<uint32_t, std::string>>& extra) const;

 private:
  std::shared_ptr<const ContainerReader> reader_;
  uint32_t n_users_ = 0, n_videos_ = 0, factors_ = 0;
  const float *user_factors_ = nullptr, *video_factors_ = nullptr;
  IdView users_, videos_;
  LocationView locations_;
  const uint32_t* location_users_ = nullptr;
  const uint64_t* location_ptr_ = nullptr;
  const uint32_t *location_videos_ = nullptr, *location_counts_ = nullptr;
  bool structure_checked_ = false;  // Verify::Full: the location ranking's videos are in range
  const uint64_t* seen_ptr_ = nullptr;
  const float* seen_weights_ = nullptr;
  const uint32_t *seen_idx_ = nullptr, *popularity_ = nullptr, *popular_order_ = nullptr;
  const float *panel_ = nullptr, *inv_norms_ = nullptr;
  nlohmann::json meta_;
  std::shared_ptr<const AnnGraph> ann_[2];
};

}  // namespace vidrec
