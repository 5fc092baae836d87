// SPDX-License-Identifier: MIT
#include "vidrec/ingest/features.hpp"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

using namespace vidrec;

namespace {

struct Ev {
  std::string user, video;
  double weight;
  int64_t ts;
};

void feed(Aggregator& agg, const std::vector<Ev>& events) {
  for (const Ev& e : events) {
    Row r;
    r.user = e.user;
    r.video = e.video;
    r.timestamp = e.ts;
    agg.add(r, e.weight);
  }
}

DatasetData aggregate(const std::vector<Ev>& events, PruneOptions prune = {}, PruneStats* stats = nullptr) {
  Aggregator agg;
  feed(agg, events);
  PruneStats local;
  return agg.finish(prune, stats ? *stats : local);
}

// The reference: a std::map keyed by id strings, i.e. sorted as the output must be.
struct Ref {
  double weight = 0;
  uint32_t events = 0;
  int64_t first = INT64_MAX, last = INT64_MIN;
};
std::map<std::pair<std::string, std::string>, Ref> reference(const std::vector<Ev>& events) {
  std::map<std::pair<std::string, std::string>, Ref> m;
  for (const Ev& e : events) {
    Ref& r = m[{e.user, e.video}];
    r.weight += e.weight;
    ++r.events;
    r.first = std::min(r.first, e.ts);
    r.last = std::max(r.last, e.ts);
  }
  return m;
}

// Entries of d that differ from the reference, walked in the same order.
size_t mismatches(const DatasetData& d, const std::map<std::pair<std::string, std::string>, Ref>& ref) {
  auto it = ref.begin();
  size_t n = 0;
  for (size_t u = 0; u < d.user_ids.size(); ++u)
    for (uint64_t k = d.indptr[u]; k < d.indptr[u + 1]; ++k, ++it)
      n += it->first.first != d.user_ids[u] || it->first.second != d.video_ids[d.indices[k]] ||
           d.weights[k] != float(it->second.weight) || d.events[k] != it->second.events ||
           d.first_ts[k] != it->second.first || d.last_ts[k] != it->second.last;
  return n;
}

}  // namespace

TEST_CASE("aggregation of a hand-computed case", "[features]") {
  const DatasetData d = aggregate({{"u2", "v9", 1, 50},
                                   {"u1", "v2", 3, 10},
                                   {"u2", "v9", 2, 20},
                                   {"u1", "v1", 1, 30},
                                   {"u2", "v9", 1, 40}});
  CHECK(d.user_ids == std::vector<std::string>{"u1", "u2"});
  CHECK(d.video_ids == std::vector<std::string>{"v1", "v2", "v9"});
  CHECK(d.indptr == std::vector<uint64_t>{0, 2, 3});
  CHECK(d.indices == std::vector<uint32_t>{0, 1, 2});
  CHECK(d.weights == std::vector<float>{1, 3, 4});
  CHECK(d.events == std::vector<uint32_t>{1, 1, 3});
  CHECK(d.first_ts == std::vector<int64_t>{30, 10, 20});
  CHECK(d.last_ts == std::vector<int64_t>{30, 10, 50});
}

TEST_CASE("aggregation matches a std::map reference and ignores row order", "[features]") {
  std::mt19937 rng(5);
  std::vector<Ev> events;
  // Enough rows to pass through several buffer flushes.
  for (int i = 0; i < 2'500'000; ++i)
    events.push_back({"u" + std::to_string(rng() % 3000), "v" + std::to_string(rng() % 700),
                      double(1 + rng() % 3), int64_t(rng() % 100000)});
  const auto ref = reference(events);
  const DatasetData d = aggregate(events);
  REQUIRE(d.indices.size() == ref.size());
  CHECK(mismatches(d, ref) == 0);

  std::shuffle(events.begin(), events.end(), rng);
  const DatasetData s = aggregate(events);
  CHECK(s.user_ids == d.user_ids);
  CHECK(s.video_ids == d.video_ids);
  CHECK(s.indptr == d.indptr);
  CHECK(s.indices == d.indices);
  CHECK(s.weights == d.weights);  // small integers: the sum is exact in any order
  CHECK(s.events == d.events);
  CHECK(s.first_ts == d.first_ts);
}

TEST_CASE("a partition whose arrays outgrow 2 MiB (moved onto huge pages) keeps every pair", "[features]") {
  // One user's pairs all land in one partition: ~100k pairs of 48 bytes take
  // its arrays across the 2 MiB line, where they move to a new mapping.
  std::mt19937 rng(8);
  std::vector<Ev> events;
  for (int i = 0; i < 200'000; ++i)
    events.push_back({i % 10 ? "heavy" : "u" + std::to_string(rng() % 50),
                      "v" + std::to_string(rng() % 200'000), double(1 + rng() % 3), int64_t(rng() % 100000)});
  const auto ref = reference(events);
  const DatasetData d = aggregate(events);
  REQUIRE(d.indices.size() == ref.size());
  CHECK(mismatches(d, ref) == 0);
}

TEST_CASE("close() sizes what emit() then streams, the entries finish() returns", "[features]") {
  std::mt19937 rng(12);
  std::vector<Ev> events;
  for (int i = 0; i < 100'000; ++i)
    events.push_back({"u" + std::to_string(rng() % 700), "v" + std::to_string(rng() % (i % 3 ? 900 : 40)),
                      double(rng() % 4), int64_t(rng() % 5000)});
  for (const PruneOptions prune : {PruneOptions{}, PruneOptions{60, 150}}) {
    PruneStats want_stats, got_stats;
    const DatasetData want = aggregate(events, prune, &want_stats);
    Aggregator agg;
    feed(agg, events);
    const Aggregator::Shape& shape = agg.close(prune, got_stats);
    CHECK(shape.user_ids == want.user_ids);
    CHECK(shape.video_ids == want.video_ids);
    CHECK(shape.indptr == want.indptr);
    std::vector<uint64_t> counts(want.video_ids.size());
    for (const uint32_t v : want.indices) ++counts[v];
    CHECK(shape.video_counts == counts);
    CHECK(got_stats.pairs_removed == want_stats.pairs_removed);
    CHECK(got_stats.events_removed == want_stats.events_removed);
    if (prune.min_user_events) CHECK(got_stats.videos_removed > 0);
    std::vector<uint32_t> indices;
    std::vector<int64_t> last;
    agg.emit([&](const EntryBlock& b) {
      indices.insert(indices.end(), b.indices, b.indices + b.size);
      last.insert(last.end(), b.last_ts, b.last_ts + b.size);
    });
    CHECK(indices == want.indices);
    CHECK(last == want.last_ts);
    CHECK_THROWS_AS(agg.emit([](const EntryBlock&) {}), std::logic_error);
  }
}

TEST_CASE("ids that differ only in length, past 16 bytes or by a NUL stay distinct", "[features]") {
  // Short ids live in the interner's slots as zero-padded words, long ones in
  // its arena: these ids sit on both sides of that line.
  std::mt19937 rng(11);
  const std::string alphabet("ab\0", 3);
  auto id = [&] {
    std::string s(1 + rng() % 24, 'a');
    for (char& c : s) c = alphabet[rng() % alphabet.size()];
    return s;
  };
  std::vector<Ev> events;
  for (int i = 0; i < 200'000; ++i) events.push_back({id(), id(), 1.0, int64_t(i)});
  events.push_back({"ab", "x", 1, 0});
  events.push_back({std::string("ab\0", 3), "x", 1, 0});
  events.push_back({"0123456789abcdefX", "x", 1, 0});
  events.push_back({"0123456789abcdefY", "x", 1, 0});
  const auto ref = reference(events);
  const DatasetData d = aggregate(events);
  REQUIRE(d.indices.size() == ref.size());
  CHECK(mismatches(d, ref) == 0);
}

TEST_CASE("pruning iterates to a fixed point", "[features]") {
  // min 2 events for users and videos. Round 1 drops u3 (1 event) and v3
  // (1 event); that leaves u2 with 1 event (v2 only), dropped in round 2,
  // which leaves v2 with 1 event, dropped in round 3; then u1 has v1 x2.
  const std::vector<Ev> ev = {{"u1", "v1", 1, 0}, {"u1", "v1", 1, 0}, {"u1", "v3", 1, 0}, {"u2", "v2", 1, 0},
                              {"u2", "v4", 1, 0}, {"u3", "v2", 1, 0}, {"u4", "v4", 1, 0}, {"u4", "v4", 1, 0}};
  PruneStats st;
  const DatasetData d = aggregate(ev, {2, 2}, &st);
  // Round 1: users u1(3) u2(2) u3(1) u4(2) -> drop u3; videos v1(2) v2(2) v3(1) v4(3) -> drop v3.
  // Round 2: u1 has 2 (v1 x2), u2 has 2 (v2, v4), v2 now 1 (u2) -> drop v2.
  // Round 3: u2 now 1 (v4) -> drop u2. Round 4: v4 has 2 (u4 x2): stable.
  CHECK(d.user_ids == std::vector<std::string>{"u1", "u4"});
  CHECK(d.video_ids == std::vector<std::string>{"v1", "v4"});
  CHECK(st.users_removed == 2);
  CHECK(st.videos_removed == 2);
  CHECK(st.pairs_removed == 4);
  CHECK(st.events_removed == 4);
  CHECK(st.rounds == 3);
  for (size_t u = 0; u < d.user_ids.size(); ++u) {
    uint64_t e = 0;
    for (uint64_t k = d.indptr[u]; k < d.indptr[u + 1]; ++k) e += d.events[k];
    CHECK(e >= 2);
  }
}

TEST_CASE("no pruning keeps everything", "[features]") {
  PruneStats st;
  const DatasetData d = aggregate({{"a", "x", 1, 0}}, {}, &st);
  CHECK(d.indices.size() == 1);
  CHECK(st.rounds == 0);
  CHECK(st.users_removed == 0);
}

// Each row is within float32's range (csv.cpp rejects the rest), but a pair's
// sum need not be: such a pair is dropped and counted, never stored as inf.
TEST_CASE("pairs whose summed weight overflows float32 are dropped and counted", "[ingest]") {
  const double big = 3e38;  // within float32 (max ~3.4028e38); two of them are not
  PruneStats st;
  const DatasetData d = aggregate({{"u1", "v1", big, 10},
                                   {"u1", "v1", big, 20},  // u1,v1: 6e38, overflows
                                   {"u1", "v2", big, 30},  // u1,v2: 3e38, kept
                                   {"u2", "v1", -big, 40},
                                   {"u2", "v1", -big, 50},
                                   {"u2", "v1", -big, 60},  // u2,v1: -9e38, overflows
                                   {"u3", "v3", 2.0, 70},
                                   {"u4", "v1", big, 80},
                                   {"u4", "v1", -big, 90}},  // u4,v1: 0 in double, kept
                                  {}, &st);
  CHECK(st.overflow_pairs == 2);
  CHECK(st.overflow_events == 5);
  // u2's only pair went, so u2 went too (counted as a removed user).
  CHECK(d.user_ids == std::vector<std::string>{"u1", "u3", "u4"});
  CHECK(d.video_ids == std::vector<std::string>{"v1", "v2", "v3"});
  CHECK(st.users_removed == 1);
  CHECK(st.videos_removed == 0);
  CHECK(st.pairs_removed == 0);
  REQUIRE(d.weights.size() == 3);
  for (const float w : d.weights) CHECK(std::isfinite(w));
  CHECK(d.weights[0] == float(big));
  CHECK(d.weights[1] == 2.0f);
  CHECK(d.weights[2] == 0.0f);
  CHECK(d.indptr == std::vector<uint64_t>{0, 1, 2, 3});

  // A video whose every pair overflowed goes too; with pruning on as well.
  PruneStats st2;
  const DatasetData e = aggregate({{"u1", "v1", 1, 1},
                                   {"u1", "v1", 1, 2},
                                   {"u2", "v9", big, 3},
                                   {"u1", "v9", big, 4},
                                   {"u1", "v9", big, 5},
                                   {"u2", "v1", 1, 6},
                                   {"u2", "v1", 1, 7}},
                                  {2, 2}, &st2);
  CHECK(st2.overflow_pairs == 1);
  CHECK(st2.overflow_events == 2);
  // u2,v9 has one event: pruned (min 2 per video) with v9, as before.
  CHECK(e.video_ids == std::vector<std::string>{"v1"});
  CHECK(e.user_ids == std::vector<std::string>{"u1", "u2"});
  for (const float w : e.weights) CHECK(std::isfinite(w));
}

TEST_CASE("weights whose sums are not exact in double give the same bytes in any row order", "[features]") {
  std::mt19937 rng(3);
  std::vector<Ev> events;
  // ~30 rows a pair, through several buffer flushes.
  const double decimals[] = {0.1, 0.3, 0.7};
  for (int i = 0; i < 600'000; ++i)
    events.push_back({"u" + std::to_string(rng() % 500), "v" + std::to_string(rng() % 40), decimals[rng() % 3],
                      int64_t(rng() % 100000)});
  // 1 + 2^-24 is halfway between two floats; the exact sum is above it, a
  // double sum adding one 2^-53 at a time rounds back to it (then to the
  // even float, 1), and which happens depended on the order.
  for (int k = 0; k < 20; ++k)
    for (const double w : {1 + 0x1p-24, 0x1p-53, 0x1p-53}) events.push_back({"t" + std::to_string(k), "v0", w, 0});
  // The reference: every weight is a multiple of 2^-56; float(__int128) rounds once.
  std::map<std::pair<std::string, std::string>, __int128> exact;
  for (const Ev& e : events) exact[{e.user, e.video}] += __int128(std::ldexp(e.weight, 56));
  const DatasetData d = aggregate(events);
  REQUIRE(d.weights.size() == exact.size());
  size_t k = 0, wrong = 0;
  for (const auto& [pair, n] : exact) wrong += d.weights[k++] != std::ldexp(float(n), -56);
  CHECK(wrong == 0);
  CHECK(d.weights[d.indptr[0]] == 1 + 0x1p-23f);  // user "t0"

  for (int round = 0; round < 3; ++round) {
    std::shuffle(events.begin(), events.end(), rng);
    const DatasetData s = aggregate(events);
    CHECK(s.indptr == d.indptr);
    CHECK(s.indices == d.indices);
    REQUIRE(s.weights.size() == d.weights.size());
    CHECK(std::memcmp(s.weights.data(), d.weights.data(), d.weights.size() * sizeof(float)) == 0);
  }
}

// prepare --threads closes its shards (disjoint users) side by side: the
// result must be the single aggregator's, checked against the std::map
// reference too, with pruning across shards (a video's events counted over
// all of them), overflow, locations, and shards left empty.
TEST_CASE("shards of disjoint users close and emit as one aggregator of all their rows", "[features][threads]") {
  std::mt19937 rng(21);
  const double big = 3e38;  // two of them overflow float32
  std::vector<Ev> events;
  std::vector<std::string> places;
  for (int i = 0; i < 300'000; ++i) {
    const uint32_t u = rng() % 2000;
    events.push_back({"u" + std::to_string(u), "v" + std::to_string(std::min(rng() % 900, rng() % 900)),
                      double(rng() % 4), int64_t(rng() % 100000)});
    places.push_back(u % 9 == 0 ? "" : (u + rng() % 3) % 2 ? "US" : "a-region-with-a-long-name");
  }
  // Overflowing pairs: one of a user with other pairs, one whose user and
  // video have no other.
  for (const auto& [user, video] : {std::pair{"u7", "v3"}, {"overflow-only", "v-overflow-only"}})
    for (int i = 0; i < 2; ++i) {
      events.push_back({user, video, big, i});
      places.push_back("US");
    }
  // The rows whose user hashes to one of `shards` (modulo n).
  auto feed_located = [&](Aggregator& agg, std::vector<size_t> shards, size_t n) {
    for (size_t i = 0; i < events.size(); ++i) {
      const size_t h = std::hash<std::string>()(events[i].user) % n;
      if (std::find(shards.begin(), shards.end(), h) == shards.end()) continue;
      Row r;
      r.user = events[i].user;
      r.video = events[i].video;
      r.location = places[i];
      r.timestamp = events[i].ts;
      agg.add(r, events[i].weight);
    }
  };
  for (const PruneOptions prune : {PruneOptions{}, PruneOptions{40, 300}}) {
    PruneStats want_stats;
    Aggregator one;
    feed_located(one, {0}, 1);
    const DatasetData want = one.finish(prune, want_stats);
    CHECK(want_stats.overflow_pairs > 0);
    if (!prune.min_user_events) {
      auto ref = reference(events);
      for (auto it = ref.begin(); it != ref.end();)
        it = std::fabs(it->second.weight) > 3.4e38 ? ref.erase(it) : std::next(it);
      CHECK(mismatches(want, ref) == 0);
    } else {
      CHECK(want_stats.videos_removed > 0);
    }
    for (const size_t n : {2u, 3u, 7u}) {
      INFO(n << " shards, pruning " << prune.min_user_events);
      // With 7, shards 0 and 6 hold no user: shard 1 takes theirs.
      std::vector<std::unique_ptr<Aggregator>> shards;
      for (size_t s = 0; s < n; ++s) {
        shards.push_back(std::make_unique<Aggregator>());
        if (n == 7 && (s == 0 || s == 6)) continue;
        feed_located(*shards[s], n == 7 && s == 1 ? std::vector<size_t>{0, 1, 6} : std::vector<size_t>{s}, n);
      }
      std::vector<Aggregator*> others;
      for (size_t s = 1; s < n; ++s) others.push_back(shards[s].get());
      PruneStats got_stats;
      const Aggregator::Shape& shape = shards[0]->close(prune, got_stats, others);
      CHECK(shape.user_ids == want.user_ids);
      CHECK(shape.video_ids == want.video_ids);
      CHECK(shape.indptr == want.indptr);
      CHECK(shape.locations.ids == want.locations.ids);
      CHECK(shape.locations.of_user == want.locations.of_user);
      CHECK(got_stats.rounds == want_stats.rounds);
      CHECK(got_stats.users_removed == want_stats.users_removed);
      CHECK(got_stats.videos_removed == want_stats.videos_removed);
      CHECK(got_stats.pairs_removed == want_stats.pairs_removed);
      CHECK(got_stats.events_removed == want_stats.events_removed);
      CHECK(got_stats.overflow_pairs == want_stats.overflow_pairs);
      CHECK(got_stats.overflow_events == want_stats.overflow_events);
      std::vector<uint32_t> indices, counts;
      std::vector<float> weights;
      std::vector<int64_t> first, last;
      shards[0]->emit([&](const EntryBlock& b) {
        indices.insert(indices.end(), b.indices, b.indices + b.size);
        weights.insert(weights.end(), b.weights, b.weights + b.size);
        counts.insert(counts.end(), b.events, b.events + b.size);
        first.insert(first.end(), b.first_ts, b.first_ts + b.size);
        last.insert(last.end(), b.last_ts, b.last_ts + b.size);
      }, n == 3);  // prepare --threads pipelines its writer
      CHECK(indices == want.indices);
      CHECK(weights == want.weights);
      CHECK(counts == want.events);
      CHECK(first == want.first_ts);
      CHECK(last == want.last_ts);
    }
  }
  Aggregator a, b;
  PruneStats st;
  CHECK_THROWS_AS(a.close({}, st, {&a}), std::logic_error);
  b.close({}, st);
  CHECK_THROWS_AS(a.close({}, st, {&b}), std::logic_error);
}

TEST_CASE("pipelined EntryBlocks hand the sink the same blocks in order, one at a time, on another thread",
          "[features][threads]") {
  struct Seen {
    std::vector<size_t> sizes;
    std::vector<uint32_t> indices;
    std::vector<float> weights;
    std::vector<int64_t> last;
    std::set<std::thread::id> threads;
  };
  auto run = [](size_t n, bool pipelined) {
    Seen seen;
    std::atomic<int> inside{0};
    bool overlapped = false;
    const std::function<void(const EntryBlock&)> sink = [&](const EntryBlock& b) {
      overlapped |= inside.fetch_add(1) != 0;
      seen.sizes.push_back(b.size);
      seen.indices.insert(seen.indices.end(), b.indices, b.indices + b.size);
      seen.weights.insert(seen.weights.end(), b.weights, b.weights + b.size);
      seen.last.insert(seen.last.end(), b.last_ts, b.last_ts + b.size);
      seen.threads.insert(std::this_thread::get_id());
      inside.fetch_sub(1);
    };
    EntryBlocks out(sink, pipelined);
    for (size_t i = 0; i < n; ++i) {
      ExactSum w;
      w.add(double(i % 7) + 0.5);
      out.push(uint32_t(i * 2654435761u), w, 1, int64_t(i), int64_t(i) * 3);
    }
    out.flush();
    CHECK_FALSE(overlapped);
    return seen;
  };
  for (const size_t n : {size_t(0), size_t(1), size_t(16384), size_t(100'003)}) {
    INFO(n << " entries");
    const Seen plain = run(n, false), piped = run(n, true);
    CHECK(piped.sizes == plain.sizes);
    CHECK(piped.indices == plain.indices);
    CHECK(piped.weights == plain.weights);
    CHECK(piped.last == plain.last);
    CHECK(plain.indices.size() == n);
    if (n) {
      CHECK(plain.threads == std::set<std::thread::id>{std::this_thread::get_id()});
      CHECK(piped.threads.size() == 1);
      CHECK(piped.threads.count(std::this_thread::get_id()) == 0);
    }
  }
}

TEST_CASE("a pipelined sink's failure reaches the producer, which stops; abandoning never hangs",
          "[features][threads]") {
  // -1: the block holding the last entry throws, which only flush() can report.
  for (const int fail_at : {0, 1, 3, -1}) {
    INFO("the sink throws at block " << fail_at);
    const size_t n = 200'000;
    int calls = 0;
    const std::function<void(const EntryBlock&)> sink = [&](const EntryBlock& b) {
      if (calls++ == fail_at) throw std::runtime_error("disk full");
      if (fail_at < 0 && b.indices[b.size - 1] == 2) {  // late: the producer is in flush() by then
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        throw std::runtime_error("disk full");
      }
    };
    bool thrown = false;
    size_t pushed = 0;
    try {
      EntryBlocks out(sink, true);
      for (; pushed < n; ++pushed) out.push(pushed + 1 == n ? 2 : 1, ExactSum(), 1, 0, 0);
      out.flush();
    } catch (const std::runtime_error& e) {
      thrown = std::string(e.what()) == "disk full";
    }
    CHECK(thrown);
    if (fail_at >= 0) {
      CHECK(calls == fail_at + 1);  // nothing more reached the sink
      CHECK(pushed < n);            // the producer stopped before the end
    }
  }
  // The producer fails (here: leaves the scope) while the sink is busy.
  std::atomic<int> calls{0};
  const std::function<void(const EntryBlock&)> slow = [&](const EntryBlock&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ++calls;
  };
  {
    EntryBlocks out(slow, true);
    for (size_t i = 0; i < 3 * 16384; ++i) out.push(1, ExactSum(), 1, 0, 0);
  }
  CHECK(calls.load() >= 1);
  CHECK(calls.load() <= 3);
}
