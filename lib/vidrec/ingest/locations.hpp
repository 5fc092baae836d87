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
//   (interner.hpp): one array entry per user for the first location met, a
//   hash map for the rest, so memory grows with users and with the extra
//   locations of users seen in several, never with rows.
// - Both prepare paths choose with better_location() and number the chosen
//   locations with number_locations(), so they write the same bytes.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string_view>
#include <unordered_map>
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
  // One row of `user` in `location` (both first-seen numbers).
  void add(uint32_t user, uint32_t location) {
    if (user >= first_.size()) first_.resize(size_t(user) + 1, 0);
    uint64_t& f = first_[user];
    if (f == 0) f = (uint64_t(location) + 1) << 32;
    if (f >> 32 == uint64_t(location) + 1)
      f += uint32_t(f) != UINT32_MAX;  // the count is the low half: saturates, never carries
    else
      ++extra_[uint64_t(user) << 32 | location];
  }
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
  std::vector<uint64_t> first_;                   // per user: (location + 1) << 32 | rows, 0 before the first
  std::unordered_map<uint64_t, uint32_t> extra_;  // (user << 32 | location) -> rows
  std::vector<std::pair<uint64_t, uint32_t>> sorted_;
};

// The dataset's UserLocations for users whose chosen locations are
// `chosen` (numbers of `names`, or kNoLocation): the chosen locations in
// byte order, each user's index among them.
UserLocations number_locations(const Interner& names, const std::vector<uint32_t>& chosen);

}  // namespace vidrec
