// SPDX-License-Identifier: MIT
// Each user's location, chosen while rows are aggregated (features.hpp, and
// spill.hpp when the aggregate goes to disk).
//
// Contract
// - A user's location is the one of most of the user's rows that aggregation
//   used (valid, not ignored by type; counted before weight overflow and
//   pruning drop pairs), ties to the byte-wise smallest location; rows with
//   an empty location count for none, and a user without such rows has none.
// - LocationCounts counts rows per (user, location) by first-seen numbers
//   (interner.hpp): one array entry per user for the first location met, an
//   open-addressing table for the rest, so memory grows with users and with
//   the extra locations of users seen in several, never with rows.
// - Both prepare paths choose with better_location() and number the chosen
//   locations with number_locations(), so they write the same bytes.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "vidrec/dataset/dataset.hpp"
#include "vidrec/ingest/interner.hpp"

namespace vidrec {

// Whether `rows_a` rows in location a beat `rows_b` in location b.
inline bool better_location(uint64_t rows_a, std::string_view a, uint64_t rows_b, std::string_view b) {
  return rows_a != rows_b ? rows_a > rows_b : a < b;
}

class LocationCounts {
 public:
  // Aggregation resolves a batch of rows before it counts their locations,
  // so the user's entry is in cache by then (a miss a row otherwise).
  void prefetch(uint32_t user) const {
    if (user < first_.size()) __builtin_prefetch(&first_[user]);
  }
  // One row of each (user, location) of `rows` (first-seen numbers). The
  // rows of users away from their first location are counted last, their
  // table slots prefetched.
  void add(const std::vector<std::pair<uint32_t, uint32_t>>& rows) {
    away_.clear();
    for (const auto& [user, location] : rows) {
      if (user >= first_.size()) first_.resize(size_t(user) + 1, 0);
      uint64_t& f = first_[user];
      if (f == 0) f = (uint64_t(location) + 1) << 32;
      if (f >> 32 == uint64_t(location) + 1) {
        f += uint32_t(f) != UINT32_MAX;  // the count is the low half: saturates, never carries
      } else {
        away_.push_back(uint64_t(user) << 32 | location);
        if (!extra_.empty()) __builtin_prefetch(&extra_[home(away_.back())]);
      }
    }
    for (const uint64_t key : away_) add_extra(key);
  }
  // `rows` rows of (user, location) at once (shards merged: features.hpp).
  void add_rows(uint32_t user, uint32_t location, uint32_t rows);
  // Ends the counting: the extra counts sorted by user for for_user().
  void finish();
  // f(location, rows) for each location of `user` (after finish()), in no
  // particular order.
  template <class F>
  void for_user(uint32_t user, F&& f) const {
    if (user >= first_.size() || first_[user] == 0) return;
    f(uint32_t((first_[user] >> 32) - 1), uint32_t(first_[user]));
    auto it = std::lower_bound(sorted_.begin(), sorted_.end(), std::make_pair(uint64_t(user) << 32, 0u));
    for (; it != sorted_.end() && it->first >> 32 == user; ++it) f(uint32_t(it->first), it->second);
  }
  // The user's location (after finish()): a number of `names`, or kNoLocation.
  uint32_t best(uint32_t user, const Interner& names) const;
  uint64_t memory_bytes() const;

 private:
  // The other locations' rows: linear probing on (user << 32 | location),
  // at most half full. std::unordered_map, tried first, cost a node
  // allocation and a miss per row of a user away from home.
  struct Slot {
    uint64_t key = kEmpty;
    uint32_t rows = 0;
  };
  static constexpr uint64_t kEmpty = UINT64_MAX;  // no user and location are both UINT32_MAX
  size_t home(uint64_t key) const { return size_t(mix(key, 0x9e3779b97f4a7c15ull)) & (extra_.size() - 1); }
  Slot& slot(uint64_t key);  // found or inserted; the table has room
  void add_extra(uint64_t key);
  std::vector<uint64_t> first_;  // per user: (location + 1) << 32 | rows, 0 before the first
  std::vector<Slot> extra_;
  size_t extra_used_ = 0;
  std::vector<uint64_t> away_;                         // add()'s scratch
  std::vector<std::pair<uint64_t, uint32_t>> sorted_;  // the extra counts, by key (finish())
};

// The dataset's UserLocations for users whose chosen locations are
// `chosen` (numbers of `names`, or kNoLocation): the chosen locations in
// byte order, each user's index among them.
UserLocations number_locations(const Interner& names, const std::vector<uint32_t>& chosen);

}  // namespace vidrec
