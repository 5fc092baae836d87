// SPDX-License-Identifier: MIT
#include "vidrec/ingest/locations.hpp"

namespace vidrec {

LocationCounts::Slot& LocationCounts::slot(uint64_t key) {
  const size_t mask = extra_.size() - 1;
  for (size_t at = home(key);; at = (at + 1) & mask) {
    Slot& s = extra_[at];
    if (s.key == key) return s;
    if (s.key == kEmpty) {
      s.key = key;
      ++extra_used_;
      return s;
    }
  }
}

void LocationCounts::add_extra(uint64_t key) {
  if (2 * (extra_used_ + 1) > extra_.size()) {
    std::vector<Slot> old(std::max<size_t>(64, 2 * extra_.size()));
    old.swap(extra_);
    extra_used_ = 0;
    for (const Slot& s : old)
      if (s.key != kEmpty) slot(s.key).rows = s.rows;
  }
  Slot& s = slot(key);
  s.rows += s.rows != UINT32_MAX;  // saturates
}

void LocationCounts::add_rows(uint32_t user, uint32_t location, uint32_t rows) {
  if (rows == 0) return;
  if (user >= first_.size()) first_.resize(size_t(user) + 1, 0);
  uint64_t& f = first_[user];
  if (f == 0) f = (uint64_t(location) + 1) << 32;
  if (f >> 32 == uint64_t(location) + 1) {
    f = (f >> 32 << 32) | std::min<uint64_t>(UINT32_MAX, uint64_t(uint32_t(f)) + rows);  // saturates
    return;
  }
  add_extra(uint64_t(user) << 32 | location);
  Slot& s = slot(uint64_t(user) << 32 | location);
  s.rows = uint32_t(std::min<uint64_t>(UINT32_MAX, uint64_t(s.rows) + rows - 1));  // add_extra counted one
}

void LocationCounts::finish() {
  sorted_.clear();
  for (const Slot& s : extra_)
    if (s.key != kEmpty) sorted_.emplace_back(s.key, s.rows);
  extra_ = {};
  extra_used_ = 0;
  away_ = {};
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
  return first_.capacity() * sizeof(uint64_t) + extra_.capacity() * sizeof(Slot) +
         away_.capacity() * sizeof(uint64_t) + sorted_.capacity() * sizeof(sorted_[0]);
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
