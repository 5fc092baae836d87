// SPDX-License-Identifier: MIT
// Recommendations and similar videos from a model, and the output formats
// shell scripts parse.
//
// Contract
// - A user known to the model gets the top k videos by the dot product of the
//   factors (source Model); videos the user interacted with (any pair,
//   negative feedback included) are excluded unless include_seen; `blocked`
//   videos never appear (--exclude / --only).
// - A user without a usable profile gets the popular videos instead, marked
//   source Popular: a user the model has never seen, and a known user whose
//   factors are all zero (no positive pair in training; Model::has_profile),
//   the latter's seen videos excluded unless include_seen. Popularity counts
//   users with a positive pair. The list is the popular videos of a location
//   when there is one (score: the share of the location's users with a
//   positive pair on the video), padded from the global order (score 0: no
//   user of the location liked them) when it has fewer than k, without
//   duplicates; else the global order (score: the share of all users). The
//   location is options.location when the model knows it; a known user
//   without a profile, when options.location is empty, has the one stored
//   for the user. An unknown location gives the global order, no location
//   marked. A user with a profile is never given a location.
// - Many users are scored in blocks on several threads (scoring.hpp); output
//   is in input order and identical to scoring them one by one.
// - similar(): videos by cosine of the factors, the video itself excluded.
// - A model with an ANN index (model/ann.hpp) is searched through it
//   (approximate.hpp: exclusions honoured, exact scoring when too few
//   candidates survive) by for_user, for_users and similar, unless `exact`;
//   rank() always scores exactly (evaluate's ranking).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "vidrec/model/model.hpp"
#include "vidrec/recommend/scoring.hpp"

namespace vidrec {

struct RecommendOptions {
  uint32_t k = 10;
  bool include_seen = false;
  std::vector<uint8_t> blocked;  // empty, or one byte per model video (non-zero = never recommend)
  unsigned threads = 0;          // for one large request (for_user); 0 = all cores
  std::string location;          // for users without a profile; empty = none given
  bool exact = false;            // ignore the model's ANN index
  uint32_t ef = 0;               // the index's search breadth; 0 = kDefaultEf
  void validate() const;         // k >= 1, ef <= kMaxEf
};

enum class Source { Model, Popular };

// One seen video's share of a recommendation's score (explain/explain.hpp).
struct Because {
  uint32_t video;
  double contribution;
};

struct Recommendations {
  std::string_view id;  // the user (or video, for similar) asked about
  Source source = Source::Model;
  std::string_view location;  // the location whose popular videos these are; empty = none
  std::vector<Scored> items;
  std::vector<std::vector<Because>> because;  // empty, or one list per item (--explain)
};

class Recommender {
 public:
  Recommender(const Model& model, RecommendOptions options);

  Recommendations for_user(std::string_view user_id) const;
  // Scores many users; sink receives them in input order. progress(done) is
  // called between blocks.
  void for_users(const std::vector<std::string_view>& user_ids, unsigned threads,
                 const std::function<void(const Recommendations&)>& sink,
                 const std::function<void(size_t done)>& progress = {}) const;
  // out[i] = the top k of model user users[i], ranked as for_users ranks a
  // known user with a profile (same kernel, exclusions and ties; no popular
  // fallback: a user without a profile gets scores of 0), on the calling thread.
  // With `scores`, scores[i] also gets that user's score of every video
  // (top_k's contract): evaluate ranks through here.
  void rank(const uint32_t* users, size_t count, std::vector<Scored>* out,
            float* const* scores = nullptr) const;
  // Most similar videos to video v (a model index).
  std::vector<Scored> similar(uint32_t v) const;
  // The k users most similar to user u by cosine of the factors (Scored's
  // `video` holds the user index), u itself and users without a profile
  // excluded; ties to the lower index. Scored in double, brute force.
  std::vector<Scored> similar_users(uint32_t u) const;
  const Model& model() const { return model_; }

 private:
  Exclusion exclusion(uint32_t user) const;
  // The top k of a user with a profile through the model's index; false
  // when the exact kernel must answer (approximate.hpp).
  bool approximate(uint32_t user, std::vector<Scored>& out) const;
  // Fills r with the popular fallback when `user` (nullopt: unknown) has no
  // usable profile; false when it has one.
  bool fallback(std::optional<uint32_t> user, Recommendations& r) const;
  // The popular videos of `location` (kNoLocation: the global order) that
  // `excluded` lets through.
  std::vector<Scored> popular(uint32_t location, const Exclusion& excluded) const;
  const Model& model_;
  RecommendOptions opt_;
  uint32_t location_ = kNoLocation;  // opt_.location in the model
  std::vector<Scored> popular_;      // for unknown users
};

// Ids, one per line ("-" = stdin): blank lines skipped, spaces trimmed.
std::vector<std::string> read_id_list(const std::string& path);
// The blocked map for --exclude / --only; counts ids the model does not know.
std::vector<uint8_t> block_map(const Model& model, const std::vector<std::string>* exclude,
                               const std::vector<std::string>* only, size_t& unknown_ids);

enum class Format { Json, Jsonl, Csv, Tsv };
Format parse_format(const std::string& name);

// Writes results as the seed's JSON, JSON Lines, or CSV/TSV with a header.
//   json  one object: {"userId":"u001","recommendations":[{"videoId":"v005","score":0.91},...]}
//         (a JSON array of them when several results are written)
//   jsonl one such object per line
//   csv   userId,rank,videoId,score,source   (source: model or popular)
// Popular fallbacks carry "source":"popular" in JSON, followed by
// "location":"L" when they are a location's; CSV and TSV say it in the
// source column (the location is not shown). For similar(), the keys are
// "videoId" and "similar", and the CSV header videoId,rank,similarVideoId,score
// (no source column: similar videos always come from the factors).
// Kind::SimilarUsers: "userId" and "similar" of {"userId","score"}, CSV
// userId,rank,similarUserId,score. Results with `because` lists add
// "because":[{"videoId":"v1","contribution":0.5},...] to each
// recommendation in JSON, and a last CSV/TSV column because (`v1:0.5;v2:0.25`).
class ResultWriter {
 public:
  enum class Kind { Recommend, Similar, SimilarUsers };
  ResultWriter(std::ostream& out, Format format, Kind kind, const Model& model, bool several,
               bool because = false);
  // Appends to `out` instead (a server's reply body): the same bytes, no stream.
  ResultWriter(std::string& out, Format format, Kind kind, const Model& model, bool several,
               bool because = false);
  void write(const Recommendations& r);
  void finish();

 private:
  // Hands `text` on: to the stream, or nothing to do when it is the sink.
  void emit(const std::string& text);
  void append_header(std::string& out) const;  // CSV/TSV's
  std::ostream* stream_ = nullptr;
  std::string* sink_ = nullptr;
  Format format_;
  Kind kind_;
  const Model& model_;
  bool several_, because_;
  size_t written_ = 0;
  std::string line_;
  std::string_view item_id(uint32_t i) const;  // a video's id, or a user's (SimilarUsers)
};

// What `vidrec explain` prints: one JSON object, or a CSV/TSV header and
// row (user, video, score, model score, because, other), other = the sum of
// the contributions not listed.
void write_explanation(std::ostream& out, Format format, const Model& model, std::string_view user,
                       std::string_view video, double score, double model_score,
                       const std::vector<Because>& top, double other);

}  // namespace vidrec
