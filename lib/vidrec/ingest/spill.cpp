// SPDX-License-Identifier: MIT
#include "vidrec/ingest/spill.hpp"

#include <unistd.h>

#include <cctype>
#include <cfloat>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <optional>
#include <stdexcept>

#include "vidrec/base/errors.hpp"
#include "vidrec/base/progress.hpp"
#include "vidrec/ingest/interner.hpp"
#include "vidrec/ingest/locations.hpp"
#include "vidrec/ingest/spill_run.hpp"
#include "vidrec/io/spill_dir.hpp"

namespace vidrec {

uint64_t parse_memory_size(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  const std::string unit = text.substr(digits);
  static const std::string kUnits = "KMGT";
  const size_t u = unit.size() == 1 ? kUnits.find(char(std::toupper(unit[0]))) : std::string::npos;
  const int shift = unit.empty() ? 0 : u == std::string::npos ? -1 : 10 * int(u + 1);
  uint64_t n = 0;
  bool ok = digits > 0 && digits <= 15 && shift >= 0;
  for (size_t i = 0; ok && i < digits; ++i) n = n * 10 + uint64_t(text[i] - '0');
  if (!ok || n > (UINT64_MAX >> shift))
    throw ConfigError("--memory takes a size such as 256M or 2G (suffixes K, M, G, T), got '" + text + "'");
  n <<= shift;
  if (n < kMinMemory)
    throw ConfigError("--memory " + text + " is below the minimum of 4M (the aggregate's fixed buffers and the merge's)");
  return n;
}

uint64_t default_memory_budget() {
  uint64_t limit = uint64_t(::sysconf(_SC_PHYS_PAGES)) * uint64_t(::sysconf(_SC_PAGESIZE));
  for (const char* f : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    uint64_t n = 0;
    if (std::ifstream(f) >> n && n > 0) limit = std::min(limit, n);  // "max" does not parse: no limit
  }
  return std::max(kMinMemory, limit / 2);
}

namespace {

// A distinct pair in the merged file: ids as numbers (users ascending, videos
// in the order the merge met them).
struct PairRec {
  uint32_t user, video;
  ExactSum weight;
  int64_t first, last;
  uint32_t events, pad;
};

// The one SpillDir of a process (io/spill_dir.hpp), made at the first spill
// and shared by the shards of prepare --threads, which spill concurrently.
struct SharedDir {
  std::mutex mu;
  std::unique_ptr<SpillDir> dir;
  std::string next_file(const std::string& parent) {
    std::lock_guard<std::mutex> lock(mu);
    if (!dir) dir = std::make_unique<SpillDir>(parent);
    return dir->next_file();
  }
};

template <class F>
void for_each_pair(const std::string& path, size_t buffer, F&& f) {
  SpillReader in(path, buffer);
  PairRec p;
  while (in.read(&p, sizeof p)) f(p);
}

}  // namespace

struct SpillingAggregator::Impl {
  SpillOptions opt;
  size_t buffer;  // per open run
  size_t shards = 1;  // made by shards(n): n
  std::unique_ptr<Aggregator> agg = std::make_unique<Aggregator>();
  uint32_t rows = 0;
  std::shared_ptr<SharedDir> dir = std::make_shared<SharedDir>();  // shared by shards()
  // Sorted runs of pairs, and of (user, location) row counts (as pair
  // records: the location as the video, the rows as the events).
  std::vector<std::string> runs, location_runs;
  uint64_t spilled = 0, spilled_bytes = 0;
  Progress progress;
  // The merged path: every user and video seen, the merged pairs' file.
  bool merged = false;
  std::vector<std::string> users;  // ascending
  Interner videos, locations;
  std::vector<uint32_t> user_location;  // per merged user: a number of `locations`, or kNoLocation
  std::vector<char> user_alive, video_alive;
  std::vector<uint32_t> user_index, video_index;  // new numbers, UINT32_MAX: dropped
  std::string pairs_path;
  Aggregator::Shape shape;

  explicit Impl(SpillOptions o)
      : opt(std::move(o)),
        buffer(size_t(std::clamp<uint64_t>(opt.memory / 64, 64 << 10, 4 << 20))),
        progress("spill", 0, opt.progress) {}

  // The aggregate as one sorted run; a fresh one takes over.
  void spill() {
    SpillWriter out(dir->next_file(opt.tmp_dir), buffer);
    std::optional<SpillWriter> where;  // made when a row had a location
    agg->drain([&](std::string_view user, const std::vector<Aggregator::RawPair>& row,
                   const std::vector<Aggregator::RawLocation>& locs) {
      for (const Aggregator::RawPair& p : row)
        write_record(out, user, p.video, p.weight, p.events, p.first, p.last);
      if (!locs.empty() && !where) where.emplace(dir->next_file(opt.tmp_dir), buffer);
      for (const Aggregator::RawLocation& l : locs) write_record(*where, user, l.location, {}, l.rows, 0, 0);
    });
    out.close();
    if (where) {
      where->close();
      location_runs.push_back(where->path());
    }
    agg.reset();  // freed before the next one grows
    agg = std::make_unique<Aggregator>(shards);
    runs.push_back(out.path());
    spilled_bytes += out.bytes();
    ++spilled;
    progress.update(spilled, std::to_string(spilled) + " runs, " + human_bytes(double(spilled_bytes)));
  }

  // Takes over `o`'s rows, whose users none of this one's rows name
  // (another shard), and its memory budget: its runs join this one's, its
  // aggregate is added user by user (spilling as add() does).
  void absorb(Impl& o) {
    opt.memory += o.opt.memory;
    runs.insert(runs.end(), o.runs.begin(), o.runs.end());
    location_runs.insert(location_runs.end(), o.location_runs.begin(), o.location_runs.end());
    o.runs.clear();
    o.location_runs.clear();
    spilled += o.spilled;
    spilled_bytes += o.spilled_bytes;
    o.agg->drain([this](std::string_view user, const std::vector<Aggregator::RawPair>& row,
                        const std::vector<Aggregator::RawLocation>& where) {
      agg->add_user(user, row, where);
      if (agg->memory_bytes() + buffer > opt.memory) spill();
    });
    o.agg = std::make_unique<Aggregator>(o.shards);
  }

  // Merges groups of at most max_fan_in runs until one pass remains.
  void reduce_runs(std::vector<std::string>& files) {
    const size_t fan_in = std::max<size_t>(2, opt.max_fan_in);
    while (files.size() > fan_in) {
      std::vector<std::string> next;
      for (size_t at = 0; at < files.size(); at += fan_in) {
        const std::vector<std::string> group(files.begin() + at,
                                             files.begin() + std::min(files.size(), at + fan_in));
        if (group.size() == 1) {
          next.push_back(group[0]);
          continue;
        }
        SpillWriter out(dir->next_file(opt.tmp_dir), buffer);
        merge_runs(group, buffer, [&out](const RunRecord& r) {
          write_record(out, r.user, r.video, r.weight, r.events, r.first, r.last);
        }, [](uint64_t) {});
        out.close();
        for (const std::string& g : group) std::remove(g.c_str());  // disk back early
        next.push_back(out.path());
      }
      files.swap(next);
    }
  }

  // Writes the distinct pairs, numbered, dropping those whose sum overflows
  // float32 (counted), as Aggregator::close does.
  void merge(PruneStats& stats) {
    spill();  // also rows still batched in it
    agg.reset();
    progress.finish(std::to_string(spilled) + " runs, " + human_bytes(double(spilled_bytes)) + " in " +
                    dir->dir->path());
    reduce_runs(runs);
    reduce_runs(location_runs);
    pairs_path = dir->next_file(opt.tmp_dir);
    SpillWriter out(pairs_path, buffer);
    Progress mp("merge", spilled_bytes, opt.progress);
    std::string long_id;
    merge_runs(runs, buffer, [&](const RunRecord& r) {
      if (users.empty() || users.back() != r.user) {
        users.push_back(r.user);
        user_alive.push_back(0);
      }
      long_id.clear();
      const IdKey key = Interner::key(r.video, long_id);  // may move long_id's bytes: before data()
      const uint32_t v = videos.id(key, long_id.data());
      if (v == video_alive.size()) video_alive.push_back(0);
      if (exceeds(r.weight, FLT_MAX)) {
        ++stats.overflow_pairs;
        stats.overflow_events += r.events;
        return;
      }
      user_alive.back() = video_alive[v] = 1;
      const PairRec p{uint32_t(users.size() - 1), v, r.weight, r.first, r.last, r.events, 0};
      out.write(&p, sizeof p);
    }, [&mp](uint64_t done) { mp.update(done, human_bytes(double(done))); });
    out.close();
    for (const std::string& r : runs) std::remove(r.c_str());
    merge_locations();
    mp.finish("");
  }

  // Each merged user's location, from the location runs: a user's counts
  // arrive together, in location byte order, after the user's pairs were
  // merged (every row that has a location made a pair).
  void merge_locations() {
    user_location.assign(users.size(), kNoLocation);
    size_t at = 0;
    uint32_t best_rows = 0;
    std::string long_id;
    merge_runs(
        location_runs, buffer,
        [&](const RunRecord& r) {
          while (at < users.size() && users[at] != r.user) ++at;
          if (at == users.size()) throw std::logic_error("spill: a location run names a user without pairs");
          long_id.clear();
          const IdKey key = Interner::key(r.video, long_id);
          const uint32_t l = locations.id(key, long_id.data());
          uint32_t& best = user_location[at];
          if (best == kNoLocation || better_location(r.events, r.video, best_rows, locations.name(best))) {
            best = l;
            best_rows = r.events;
          }
        },
        [](uint64_t) {});
    for (const std::string& r : location_runs) std::remove(r.c_str());
  }

  void shape_up(const PruneOptions& prune, PruneStats& stats) {
    stats.rounds += prune_to_fixed_point(prune, user_alive, video_alive, [this](auto&& visit) {
      for_each_pair(pairs_path, buffer, [&visit](const PairRec& p) { visit(p.user, p.video, p.events); });
    });
    user_index.assign(users.size(), UINT32_MAX);
    std::vector<uint32_t> chosen;
    for (size_t u = 0; u < users.size(); ++u)
      if (user_alive[u]) {
        user_index[u] = uint32_t(shape.user_ids.size());
        shape.user_ids.push_back(std::move(users[u]));
        chosen.push_back(user_location[u]);
      }
    users = {};
    shape.locations = number_locations(locations, chosen);
    user_location = {};
    locations = Interner();
    video_index.assign(videos.size(), UINT32_MAX);
    for (const uint32_t v : videos.sorted_order())
      if (video_alive[v]) {
        video_index[v] = uint32_t(shape.video_ids.size());
        shape.video_ids.emplace_back(videos.name(v));
      }
    videos = Interner();
    stats.users_removed = user_index.size() - shape.user_ids.size();
    stats.videos_removed = video_index.size() - shape.video_ids.size();
    ShapeCounts counts(shape);
    for_each_pair(pairs_path, buffer,
                  [&](const PairRec& p) { counts.add(user_index[p.user], video_index[p.video], p.events); });
    counts.finish(stats);
  }
};

SpillingAggregator::SpillingAggregator(SpillOptions opt) : impl_(std::make_unique<Impl>(std::move(opt))) {
  if (::access(impl_->opt.tmp_dir.c_str(), W_OK | X_OK) != 0)
    throw IoError(sys_error("temporary directory (--tmp) not writable", impl_->opt.tmp_dir));
}

SpillingAggregator::~SpillingAggregator() = default;

void SpillingAggregator::add(const Row& row, double weight) {
  Impl& m = *impl_;
  m.agg->add(row, weight);
  // Checked every 1024 rows: between checks the aggregate grows by at most
  // one partition's step (1.5x of 1/64 of it) and 1024 rows' ids.
  if ((++m.rows & 1023) == 0 && m.agg->memory_bytes() + m.buffer > m.opt.memory) m.spill();
}

void SpillingAggregator::add(const KeyedRows& rows) {
  Impl& m = *impl_;
  for (size_t at = 0; at < rows.size();) {  // checked as often as add() of each row is
    const size_t step = std::min<size_t>(rows.size() - at, 1024 - (m.rows & 1023));
    m.agg->add(rows, at, at + step);
    at += step;
    m.rows += uint32_t(step);
    if ((m.rows & 1023) == 0 && m.agg->memory_bytes() + m.buffer > m.opt.memory) m.spill();
  }
}

const Aggregator::Shape& SpillingAggregator::close(const PruneOptions& prune, PruneStats& stats,
                                                  const std::vector<SpillingAggregator*>& others) {
  Impl& m = *impl_;
  // In memory the aggregates stay while the dataset is written: the
  // transpose (8 bytes a pair) and the shape (ids, row pointers: less than
  // a quarter of the aggregate's 72 bytes a pair and its id tables) come on top.
  std::vector<Impl*> all{&m};
  std::vector<Aggregator*> aggs;
  for (SpillingAggregator* s : others) {
    all.push_back(s->impl_.get());
    aggs.push_back(s->impl_->agg.get());
  }
  uint64_t need = 0, budget = 0;
  bool spilled = false;
  for (const Impl* s : all) {
    need += s->agg->memory_bytes() + 8 * s->agg->pairs() + s->agg->memory_bytes() / 4;
    budget += s->opt.memory;
    spilled |= !s->runs.empty();
  }
  if (!spilled && need <= budget) return m.agg->close(prune, stats, aggs);
  for (SpillingAggregator* s : others) m.absorb(*s->impl_);
  m.merged = true;
  m.merge(stats);
  m.shape_up(prune, stats);
  return m.shape;
}

void SpillingAggregator::emit(const std::function<void(const EntryBlock&)>& sink, bool pipelined) {
  Impl& m = *impl_;
  if (!m.merged) return m.agg->emit(sink, pipelined);
  EntryBlocks out(sink, pipelined);
  Progress wp("write", m.shape.indptr.back(), m.opt.progress);
  uint64_t done = 0;
  for_each_pair(m.pairs_path, m.buffer, [&](const PairRec& p) {
    const uint32_t v = m.video_index[p.video];
    if (m.user_index[p.user] == UINT32_MAX || v == UINT32_MAX) return;
    out.push(v, p.weight, p.events, p.first, p.last);
    if ((++done & 0xffff) == 0) wp.update(done, "entries");  // not a read of the clock an entry
  });
  out.flush();
  wp.finish("");
  m.dir->dir.reset();  // the runs' directory goes now, not with the aggregator
}

uint64_t SpillingAggregator::runs() const { return impl_->spilled; }

std::vector<std::unique_ptr<SpillingAggregator>> SpillingAggregator::shards(const SpillOptions& opt, size_t n) {
  std::vector<std::unique_ptr<SpillingAggregator>> out;
  for (size_t i = 0; i < n; ++i) {
    SpillOptions o = opt;
    o.memory = opt.memory / n;
    o.progress = opt.progress && i == 0;  // one bar: the others would draw over it
    out.push_back(std::make_unique<SpillingAggregator>(o));
    Impl& shard = *out.back()->impl_;
    shard.dir = out.front()->impl_->dir;
    shard.shards = n;
    shard.agg = std::make_unique<Aggregator>(n);
  }
  return out;
}

}  // namespace vidrec
