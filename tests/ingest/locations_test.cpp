// SPDX-License-Identifier: MIT
#include "vidrec/ingest/locations.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <random>

#include "test_util.hpp"
#include "vidrec/ingest/features.hpp"
#include "vidrec/ingest/spill.hpp"

using namespace vidrec;

namespace {

struct LocRow {
  std::string user, video, location;
  double weight;
};

void feed(RowSink& sink, const std::vector<LocRow>& rows) {
  for (const LocRow& x : rows) {
    Row r;
    r.user = x.user;
    r.video = x.video;
    r.location = x.location;
    sink.add(r, x.weight);
  }
}

// The reference: rows per (user, location) in a std::map, the most rows
// winning, ties to the smaller location; empty locations count for none.
std::map<std::string, std::string> reference(const std::vector<LocRow>& rows) {
  std::map<std::pair<std::string, std::string>, uint64_t> count;
  for (const LocRow& r : rows)
    if (!r.location.empty()) ++count[{r.user, r.location}];
  std::map<std::string, std::pair<uint64_t, std::string>> best;
  for (const auto& [key, n] : count) {
    auto it = best.find(key.first);
    if (it == best.end() || n > it->second.first)
      best[key.first] = {n, key.second};  // ascending: ties keep the first
  }
  std::map<std::string, std::string> out;
  for (const auto& [user, b] : best) out[user] = b.second;
  return out;
}

// user id -> location id, as a dataset would store them.
std::map<std::string, std::string> chosen(const std::vector<std::string>& users, const UserLocations& l) {
  std::map<std::string, std::string> out;
  if (l.ids.empty()) return out;
  REQUIRE(l.of_user.size() == users.size());
  for (size_t u = 0; u < users.size(); ++u)
    if (l.of_user[u] != kNoLocation) out[users[u]] = l.ids.at(l.of_user[u]);
  return out;
}

}  // namespace

TEST_CASE("a user's location: most rows, ties to the smallest, empty is none", "[ingest][location]") {
  const std::vector<LocRow> rows = {
      {"u1", "v1", "FR", 1},      {"u1", "v2", "DE", 1},
      {"u1", "v2", "FR", -3},                             // FR 2, DE 1
      {"u2", "v1", "FR", 1},      {"u2", "v1", "DE", 1},  // a tie: DE
      {"u3", "v1", "", 1},        {"u3", "v2", "", 1},    // none
      {"u4", "v1", "", 1},        {"u4", "v1", "", 1},
      {"u4", "v2", "US", 1},  // US: empty rows count for none
      {"u5", "v9", "ZZ", 1},  // pruned: ZZ goes with it
      {"u6", "vbig", "JP", 3e38}, {"u6", "vbig", "JP", 3e38},
      {"u6", "v1", "NZ", 1},  // the JP rows count
  };
  Aggregator agg;
  feed(agg, rows);
  PruneStats stats;
  const DatasetData d = agg.finish({1, 2}, stats);  // v9 and vbig have fewer than 2 events or overflow
  CHECK(stats.overflow_pairs == 1);
  CHECK(d.user_ids == std::vector<std::string>{"u1", "u2", "u3", "u4", "u6"});
  CHECK(d.locations.ids == std::vector<std::string>{"DE", "FR", "JP", "US"});
  CHECK(d.locations.of_user == std::vector<uint32_t>{1, 0, kNoLocation, 3, 2});
  // Negative weights are summed like any other: u1's v2 holds 1 - 3.
  CHECK(d.weights[d.indptr[0] + 1] == -2.0f);

  Aggregator none;
  feed(none, {{"a", "v", "", 1}});
  CHECK(none.finish({}, stats).locations.ids.empty());
}

TEST_CASE("locations chosen in memory and through spilled runs match a reference",
          "[ingest][location][spill]") {
  test::TempDir dir;
  std::mt19937 rng(5);
  // Users in one to four locations (ids past the interner's 16 inline bytes
  // among them) with few rows each, so counts tie often.
  static const char* const kPlaces[] = {"DE", "FR", "US", "", "a-region-with-a-long-name", "BR"};
  std::vector<LocRow> rows;
  for (int i = 0; i < 150000; ++i) {
    const uint32_t u = rng() % 20000;
    const char* place = kPlaces[(u + rng() % (1 + u % 4)) % 6];
    rows.push_back({"u" + std::to_string(u), "v" + std::to_string(rng() % 3000), place, 1});
  }
  const std::map<std::string, std::string> want = reference(rows);
  Aggregator mem;
  SpillingAggregator disk({kMinMemory, dir.path().string(), false, 2});
  feed(mem, rows);
  feed(disk, rows);
  PruneStats s1, s2;
  const Aggregator::Shape& a = mem.close({}, s1);
  const Aggregator::Shape& b = disk.close({}, s2);
  CHECK(disk.runs() > 2);
  CHECK(chosen(a.user_ids, a.locations) == want);
  CHECK(a.locations.ids == b.locations.ids);
  CHECK(a.locations.of_user == b.locations.of_user);
  CHECK(a.user_ids == b.user_ids);
}
