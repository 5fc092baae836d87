// SPDX-License-Identifier: MIT
// Closing and emitting the aggregate (features.hpp), of one aggregator or of
// several shards of disjoint users (prepare --threads) as one: the shards'
// sorted id lists are merged, never the shards themselves, so no pair is
// copied or re-faulted on the way to the file, and each shard's finishing
// work (its last sorts, the overflow check, its id order) runs on a thread
// of its own.
#include <cfloat>
#include <stdexcept>
#include <string_view>

#include "vidrec/base/parallel.hpp"
#include "vidrec/ingest/features_impl.hpp"

namespace vidrec {

using namespace aggregation;

namespace {

using Named = std::pair<std::string_view, uint32_t>;  // an id and its first-seen number

std::vector<Named> sorted_names(const Interner& names) {
  std::vector<Named> out;
  out.reserve(names.size());
  for (const uint32_t i : names.sorted_order()) out.emplace_back(names.name(i), i);
  return out;
}

// Calls f(shard, number, name) for the ids of every shard in byte order
// (ties: the lower shard first). A scan of the list heads: there are few shards.
template <class F>
void merge_sorted(const std::vector<std::vector<Named>>& lists, F&& f) {
  std::vector<size_t> at(lists.size(), 0);
  for (;;) {
    size_t best = lists.size();
    for (size_t s = 0; s < lists.size(); ++s)
      if (at[s] < lists[s].size() && (best == lists.size() || lists[s][at[s]].first < lists[best][at[best]].first))
        best = s;
    if (best == lists.size()) return;
    const Named& n = lists[best][at[best]++];
    f(best, n.second, n.first);
  }
}

}  // namespace

const Aggregator::Shape& Aggregator::close(const PruneOptions& prune, PruneStats& stats,
                                           const std::vector<Aggregator*>& others) {
  Impl& m = *impl_;
  if (m.closed() || m.emitted()) throw std::logic_error("Aggregator::close called twice");
  m.shards = {&m};
  for (Aggregator* o : others) {
    if (o == this || o->impl_->closed() || o->impl_->emitted() || !o->impl_->shards.empty())
      throw std::logic_error("Aggregator::close: a shard closed already");
    o->impl_->shards = {o->impl_.get()};  // taken
    m.shards.push_back(o->impl_.get());
  }
  const size_t n_shards = m.shards.size();

  // Each shard on its own thread: the last flush, then the pairs whose sum
  // is past float32's range dropped (counted; they would be stored as inf
  // and poison training), each user's run of pairs, the ids in byte order.
  std::vector<uint64_t> overflow_pairs(n_shards), overflow_events(n_shards);
  std::vector<std::vector<Named>> user_lists(n_shards), video_lists(n_shards);
  parallel_for(n_shards, unsigned(n_shards), [&](uint64_t begin, uint64_t end, unsigned) {
    for (uint64_t s = begin; s < end; ++s) {
      Impl& sh = *m.shards[s];
      sh.flush_all();
      for (Impl::Partition& part : sh.parts) {
        Pair* kept = part.pairs.begin();
        for (const Pair& p : part.pairs) {
          if (!exceeds(p.weight, FLT_MAX)) {
            *kept++ = p;
          } else {
            ++overflow_pairs[s];
            overflow_events[s] += p.events;
          }
        }
        part.pairs.resize(size_t(kept - part.pairs.begin()));
      }
      // A user's pairs are one run in its partition (sorted by key).
      sh.runs.assign(sh.users.size(), {});
      for (const Impl::Partition& part : sh.parts)
        for (uint32_t i = 0; i < part.pairs.size(); ++i) {
          Impl::Run& r = sh.runs[user_of(part.pairs[i].key)];
          if (r.len++ == 0) r.at = i;
        }
      user_lists[s] = sorted_names(sh.users);
      video_lists[s] = sorted_names(sh.videos);
      sh.location_rows.finish();
    }
  }, 1);
  for (size_t s = 0; s < n_shards; ++s) {
    stats.overflow_pairs += overflow_pairs[s];
    stats.overflow_events += overflow_events[s];
  }

  // One numbering of every shard's users and videos in id order (a video
  // may be in several shards, a user in one).
  std::vector<std::vector<uint32_t>> user_rank(n_shards), video_rank(n_shards);
  for (size_t s = 0; s < n_shards; ++s) {
    user_rank[s].resize(m.shards[s]->users.size());
    video_rank[s].resize(m.shards[s]->videos.size());
  }
  std::vector<std::pair<uint32_t, uint32_t>> users;  // by rank: (shard, old number)
  merge_sorted(user_lists, [&](size_t s, uint32_t u, std::string_view) {
    user_rank[s][u] = uint32_t(users.size());
    users.emplace_back(uint32_t(s), u);
  });
  std::vector<std::string_view> videos;  // by rank
  merge_sorted(video_lists, [&](size_t s, uint32_t v, std::string_view name) {
    if (videos.empty() || videos.back() != name) videos.push_back(name);
    video_rank[s][v] = uint32_t(videos.size() - 1);
  });
  user_lists = {};
  video_lists = {};
  auto for_each_pair = [&](auto&& visit) {  // visit(shard, pair)
    for (size_t s = 0; s < n_shards; ++s)
      for (const Impl::Partition& part : m.shards[s]->parts)
        for (const Pair& p : part.pairs) visit(s, p);
  };

  std::vector<char> user_alive(users.size(), 1), video_alive(videos.size(), 1);
  if (stats.overflow_pairs) {  // users and videos whose every pair went: gone too
    std::fill(user_alive.begin(), user_alive.end(), 0);
    std::fill(video_alive.begin(), video_alive.end(), 0);
    for_each_pair([&](size_t s, const Pair& p) {
      user_alive[user_rank[s][user_of(p.key)]] = video_alive[video_rank[s][video_of(p.key)]] = 1;
    });
  }
  stats.rounds += prune_to_fixed_point(prune, user_alive, video_alive, [&](auto&& visit) {
    for_each_pair([&](size_t s, const Pair& p) {
      visit(user_rank[s][user_of(p.key)], video_rank[s][video_of(p.key)], p.events);
    });
  });

  // Survivors numbered in id order.
  Shape& shape = m.shape;
  std::vector<std::vector<uint32_t>> user_index(n_shards);
  for (size_t s = 0; s < n_shards; ++s) user_index[s].assign(user_rank[s].size(), UINT32_MAX);
  for (size_t g = 0; g < users.size(); ++g)
    if (user_alive[g]) {
      const auto [s, u] = users[g];
      user_index[s][u] = uint32_t(shape.user_ids.size());
      shape.user_ids.emplace_back(m.shards[s]->users.name(u));
      m.out_users.push_back(users[g]);
    }
  std::vector<uint32_t> video_number(videos.size(), UINT32_MAX);
  for (size_t g = 0; g < videos.size(); ++g)
    if (video_alive[g]) {
      video_number[g] = uint32_t(shape.video_ids.size());
      shape.video_ids.emplace_back(videos[g]);
    }
  m.video_index.resize(n_shards);
  for (size_t s = 0; s < n_shards; ++s) {
    m.video_index[s].resize(video_rank[s].size());
    for (size_t v = 0; v < video_rank[s].size(); ++v) m.video_index[s][v] = video_number[video_rank[s][v]];
  }
  stats.users_removed = users.size() - shape.user_ids.size();
  stats.videos_removed = videos.size() - shape.video_ids.size();

  // What survives per row and per video.
  ShapeCounts counts(shape);
  for_each_pair([&](size_t s, const Pair& p) {
    counts.add(user_index[s][user_of(p.key)], m.video_index[s][video_of(p.key)], p.events);
  });
  counts.finish(stats);

  // Each user's location, chosen in its shard, numbered over all shards.
  Interner names;
  std::vector<std::vector<uint32_t>> location_number(n_shards);
  std::string text;
  for (size_t s = 0; s < n_shards; ++s)
    for (uint32_t l = 0; l < m.shards[s]->locations.size(); ++l) {
      text.clear();
      const IdKey key = Interner::key(m.shards[s]->locations.name(l), text);
      location_number[s].push_back(names.id(key, text.data()));
    }
  std::vector<uint32_t> chosen(m.out_users.size());
  for (size_t u = 0; u < chosen.size(); ++u) {
    const auto [s, old] = m.out_users[u];
    const uint32_t best = m.shards[s]->location_rows.best(old, m.shards[s]->locations);
    chosen[u] = best == kNoLocation ? kNoLocation : location_number[s][best];
  }
  shape.locations = number_locations(names, chosen);
  for (Impl* sh : m.shards) {
    sh->location_rows = {};
    sh->locations = Interner();
  }
  return shape;
}

// Rows are laid out in id order, each sorted by new video number: reads jump
// once per row and writes are sequential, where two global counting sorts
// (by video, then user) scattered every pair twice. The entries leave in
// blocks small enough to stay in cache on their way to the file.
void Aggregator::emit(const std::function<void(const EntryBlock&)>& sink, bool pipelined) {
  Impl& m = *impl_;
  if (!m.closed() || m.emitted()) throw std::logic_error("Aggregator::emit needs one close() before it");
  auto row_pairs = [&m](const std::pair<uint32_t, uint32_t>& user) {
    const Impl& sh = *m.shards[user.first];
    const Impl::Run run = sh.runs[user.second];
    const Pair* p = sh.partition(user.second).pairs.begin() + run.at;
    return std::make_pair(p, p + run.len);
  };
  EntryBlocks out(sink, pipelined);
  std::vector<uint64_t> row, row_tmp;  // new video << 32 | position in the run
  const int video_bits = bits_for(m.shape.video_ids.size());
  const size_t n_out = m.out_users.size();
  for (size_t u = 0; u < n_out; ++u) {
    const auto [b, e] = row_pairs(m.out_users[u]);
    if (u + 1 < n_out) {
      const auto [nb, ne] = row_pairs(m.out_users[u + 1]);
      for (const char* c = reinterpret_cast<const char*>(nb); c < reinterpret_cast<const char*>(ne); c += 64)
        __builtin_prefetch(c);
    }
    const std::vector<uint32_t>& video_index = m.video_index[m.out_users[u].first];
    row.clear();
    for (const Pair* p = b; p != e; ++p) {
      const uint32_t v = video_index[video_of(p->key)];
      if (v != UINT32_MAX) row.push_back(uint64_t(v) << 32 | uint64_t(p - b));
    }
    sort_row(row, row_tmp, video_bits);
    for (const uint64_t r : row) {
      const Pair& p = b[r & 0xffffffff];
      out.push(uint32_t(r >> 32), p.weight, p.events, p.first, p.last);
    }
  }
  out.flush();
  for (Impl* sh : m.shards) sh->parts.clear();
}

DatasetData Aggregator::finish(const PruneOptions& prune, PruneStats& stats) {
  close(prune, stats);
  Shape& shape = impl_->shape;
  DatasetData d;
  const uint64_t nnz = shape.indptr.back();
  d.indices.reserve(nnz);
  d.weights.reserve(nnz);
  d.events.reserve(nnz);
  d.first_ts.reserve(nnz);
  d.last_ts.reserve(nnz);
  emit([&d](const EntryBlock& b) {
    d.indices.insert(d.indices.end(), b.indices, b.indices + b.size);
    d.weights.insert(d.weights.end(), b.weights, b.weights + b.size);
    d.events.insert(d.events.end(), b.events, b.events + b.size);
    d.first_ts.insert(d.first_ts.end(), b.first_ts, b.first_ts + b.size);
    d.last_ts.insert(d.last_ts.end(), b.last_ts, b.last_ts + b.size);
  });
  d.user_ids = std::move(shape.user_ids);
  d.video_ids = std::move(shape.video_ids);
  d.indptr = std::move(shape.indptr);
  d.locations = std::move(shape.locations);
  return d;
}

}  // namespace vidrec
