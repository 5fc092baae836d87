// SPDX-License-Identifier: MIT
#include "vidrec/ingest/locations.hpp"

namespace vidrec {

void LocationCounts::finish() {
  sorted_.assign(extra_.begin(), extra_.end());
  extra_ = {};
  std::sort(sorted_.begin(), sorted_.end());
}

uint32_t LocationCounts::best(uint32_t user, const Interner& names) const {
  uint32_t best = kNoLocation, best_rows = 0;
  for_user(user, [&](uint32_t location, uint32_t rows) {
    if (best == kNoLocation || better_location(rows, names.name(location), best_rows, names.name(best))) {
      best = location;
      best_rows = rows;
    }
  });
  return best;
}

uint64_t LocationCounts::memory_bytes() const {
  // A node of the map: the pair, the next pointer and the cached hash, plus a bucket.
  return first_.capacity() * sizeof(uint64_t) + extra_.size() * 40 + extra_.bucket_count() * 8 +
         sorted_.capacity() * sizeof(sorted_[0]);
}

UserLocations number_locations(const Interner& names, const std::vector<uint32_t>& chosen) {
  UserLocations out;
  std::vector<uint32_t> index(names.size(), kNoLocation);
  for (const uint32_t c : chosen)
    if (c != kNoLocation) index[c] = 0;  // used
  for (const uint32_t id : names.sorted_order())
    if (index[id] != kNoLocation) {
      index[id] = uint32_t(out.ids.size());
      out.ids.emplace_back(names.name(id));
    }
  if (out.ids.empty()) return out;
  out.of_user.reserve(chosen.size());
  for (const uint32_t c : chosen) out.of_user.push_back(c == kNoLocation ? kNoLocation : index[c]);
  return out;
}

}  // namespace vidrec
