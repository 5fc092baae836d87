// SPDX-License-Identifier: MIT
#include "vidrec/ingest/spill.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <sstream>

#include "test_util.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/ingest/prepare.hpp"

using namespace vidrec;

namespace {

// A log with many distinct pairs (more than 4M of memory holds), 2000 pairs
// of ~20 rows each, duplicate rows, ids past the interner's 16 inline bytes,
// pairs whose sum overflows float32 and malformed rows. With kTypeWeights
// most weights are decimals whose sums are not exact in double. Users are
// seen in up to three locations (one past 16 bytes, and none), so the
// location chosen often breaks a tie.
const std::map<std::string, double, std::less<>> kTypeWeights{{"like", 0.1}, {"share", 0.3}, {"comment", 0.7}};

std::string big_log(size_t rows, uint32_t seed) {
  static const char* const kTypes[] = {",watch,", ",like,", ",share,", ",comment,"};
  static const char* const kPlaces[] = {",US,", ",DE,", ",,", ",a-region-with-a-long-name,", ",FR,"};
  std::mt19937 rng(seed);
  std::ostringstream o;
  o << "userId,videoId,interactionType,interactionValue,location,timestamp\n";
  for (size_t i = 0; i < rows; ++i) {
    const bool hot = rng() % 3 == 0;
    const uint32_t u = hot ? rng() % 100 : rng() % 20000;
    const uint32_t v = hot ? rng() % 20 : uint32_t(std::min(rng() % 3000, rng() % 3000));
    o << (u % 7 == 0 ? "a-rather-long-user-id-" : "u") << u << ",v" << v;
    if (v % 50 == 0) o << "-with-a-long-video-suffix";
    o << kTypes[rng() % 4] << (rng() % 8) * 0.25 << kPlaces[(u + rng() % 3) % 5]
      << 1700000000 + rng() % 1000000 << "\n";
    if (i % 10007 == 0) o << "u0,vbig,watch,3e38,US,1700000000\n";  // repeated: overflows
    if (i % 49999 == 49998) o << "u" << u << ",v1,watch,abc,US,1700000000\n";  // malformed
  }
  return o.str();
}

PrepareConfig config(const test::TempDir& dir, const std::string& tag) {
  PrepareConfig c;
  c.inputs = {dir.file("log.csv")};
  c.output = dir.file(tag + ".vrd");
  c.rejects_path = dir.file(tag + ".rej");
  c.summary_json_path = dir.file(tag + ".json");
  c.tmp_dir = dir.file("tmp");
  c.progress = false;
  c.type_weights = kTypeWeights;
  return c;
}

void check_same_files(const test::TempDir& dir, const std::string& a, const std::string& b) {
  for (const char* ext : {".vrd", ".rej", ".json"}) {
    INFO(ext);
    CHECK(test::read_text(dir.file(a + ext)) == test::read_text(dir.file(b + ext)));
  }
}

}  // namespace

TEST_CASE("memory sizes parse with K/M/G/T suffixes and refuse what is below the minimum", "[prepare][spill]") {
  CHECK(parse_memory_size("256M") == uint64_t(256) << 20);
  CHECK(parse_memory_size("2g") == uint64_t(2) << 30);
  CHECK(parse_memory_size("4096K") == uint64_t(4) << 20);
  CHECK(parse_memory_size("8388608") == uint64_t(8) << 20);
  for (const char* bad : {"", "M", "12Q", "1.5G", "-1G", "99999999999999999999"})
    CHECK_THROWS_AS(parse_memory_size(bad), ConfigError);
  CHECK_THROWS_WITH(parse_memory_size("1M"), Catch::Contains("minimum of 4M"));
  CHECK(default_memory_budget() >= kMinMemory);
}

TEST_CASE("prepare spilling to disk writes the same files as in memory", "[prepare][spill]") {
  test::TempDir dir;
  test::write_text(dir.file("log.csv"), big_log(120000, 7));
  std::filesystem::create_directory(dir.file("tmp"));
  for (const PruneOptions prune : {PruneOptions{}, PruneOptions{3, 5}}) {
    INFO("min events " << prune.min_user_events << "/" << prune.min_video_events);
    PrepareConfig mem = config(dir, "mem"), disk = config(dir, "disk");
    mem.prune = disk.prune = prune;
    disk.memory = kMinMemory;
    const PrepareReport a = run_prepare(mem), b = run_prepare(disk);
    CHECK(a.spill_runs == 0);
    CHECK(b.spill_runs > 2);
    CHECK(a.prune.overflow_pairs > 0);
    CHECK(b.prune.overflow_pairs == a.prune.overflow_pairs);
    CHECK(b.prune.rounds == a.prune.rounds);
    if (prune.min_user_events) CHECK(a.prune.rounds > 0);
    check_same_files(dir, "mem", "disk");
    CHECK(Dataset::open(dir.file("disk.vrd")).n_locations() == 4);
    CHECK(std::filesystem::is_empty(dir.file("tmp")));
  }
}

TEST_CASE("runs beyond the fan-in are merged in passes, to the same aggregate", "[prepare][spill]") {
  test::TempDir dir;
  const std::string log = big_log(150000, 11);
  IngestOptions opt;
  opt.progress = false;
  opt.type_weights = kTypeWeights;
  Aggregator ref;
  IngestStats s1, s2;
  ingest_buffer("log", log, opt, ref, s1);
  SpillingAggregator spill({kMinMemory, dir.path().string(), false, 2});
  ingest_buffer("log", log, opt, spill, s2);
  PruneStats p1, p2;
  const Aggregator::Shape& a = ref.close({2, 2}, p1);
  const Aggregator::Shape& b = spill.close({2, 2}, p2);
  CHECK(spill.runs() > 2);
  CHECK(a.user_ids == b.user_ids);
  CHECK(a.video_ids == b.video_ids);
  CHECK(a.indptr == b.indptr);
  CHECK(a.video_counts == b.video_counts);
  CHECK(a.locations.ids.size() == 4);
  CHECK(a.locations.ids == b.locations.ids);
  CHECK(a.locations.of_user == b.locations.of_user);
  CHECK(std::tie(p1.rounds, p1.users_removed, p1.videos_removed, p1.pairs_removed, p1.events_removed,
                 p1.overflow_pairs, p1.overflow_events) ==
        std::tie(p2.rounds, p2.users_removed, p2.videos_removed, p2.pairs_removed, p2.events_removed,
                 p2.overflow_pairs, p2.overflow_events));
  std::vector<std::string> ea, eb;
  auto collect = [](std::vector<std::string>& out) {
    return [&out](const EntryBlock& blk) {
      for (size_t i = 0; i < blk.size; ++i)
        out.push_back(std::to_string(blk.indices[i]) + " " + std::to_string(blk.weights[i]) + " " +
                      std::to_string(blk.events[i]) + " " + std::to_string(blk.first_ts[i]) + " " +
                      std::to_string(blk.last_ts[i]));
    };
  };
  ref.emit(collect(ea));
  spill.emit(collect(eb));
  CHECK(ea.size() == a.indptr.back());
  CHECK(ea == eb);
  CHECK(dir.count() == 0);
}

TEST_CASE("a failing spilled run leaves no temporary file", "[prepare][spill]") {
  test::TempDir dir;
  test::write_text(dir.file("log.csv"), big_log(60000, 3));
  std::filesystem::create_directory(dir.file("tmp"));
  PrepareConfig c = config(dir, "x");
  c.memory = kMinMemory;
  c.max_reject_rate = 0.0;  // fails after aggregation, the runs written
  CHECK_THROWS_WITH(run_prepare(c), Catch::Contains("above --max-reject-rate"));
  CHECK(std::filesystem::is_empty(dir.file("tmp")));
  c.max_reject_rate.reset();
  c.strict = true;  // fails during ingest, after the first runs
  CHECK_THROWS_AS(run_prepare(c), InputError);
  CHECK(std::filesystem::is_empty(dir.file("tmp")));
  c.strict = false;
  c.tmp_dir = dir.file("missing");
  CHECK_THROWS_WITH(run_prepare(c), Catch::Contains("missing") && Catch::Contains("not writable"));
}
