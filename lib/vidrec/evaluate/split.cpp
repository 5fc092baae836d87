// SPDX-License-Identifier: MIT
#include "vidrec/evaluate/split.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "vidrec/base/errors.hpp"
#include "vidrec/io/paths.hpp"

namespace vidrec {

namespace {

// SplitMix64 finaliser: a well-mixed 64-bit hash, specified here rather than
// borrowed from <random>, whose distributions differ between library versions.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// "0.2", not std::to_string's "0.200000".
std::string show(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

DatasetData empty_like(const Dataset& ds) {
  DatasetData d;
  d.user_ids.reserve(ds.n_users());
  d.video_ids.reserve(ds.n_videos());
  for (uint32_t u = 0; u < ds.n_users(); ++u) d.user_ids.emplace_back(ds.user_id(u));
  for (uint32_t v = 0; v < ds.n_videos(); ++v) d.video_ids.emplace_back(ds.video_id(v));
  for (uint32_t l = 0; l < ds.n_locations(); ++l) d.locations.ids.emplace_back(ds.location_id(l));
  if (ds.n_locations())
    for (uint32_t u = 0; u < ds.n_users(); ++u) d.locations.of_user.push_back(ds.user_location(u));
  d.indptr.reserve(ds.n_users() + size_t{1});
  d.indptr.push_back(0);
  return d;
}

void append(DatasetData& d, const Dataset& ds, uint64_t k) {
  const CsrView m = ds.user_items();
  d.indices.push_back(m.indices[k]);
  d.weights.push_back(m.values[k]);
  d.events.push_back(ds.events()[k]);
  d.first_ts.push_back(ds.first_ts()[k]);
  d.last_ts.push_back(ds.last_ts()[k]);
}

}  // namespace

void SplitConfig::validate() const {
  if (!(std::isfinite(test_fraction) && test_fraction > 0.0 && test_fraction < 1.0))
    throw ConfigError("test-fraction must be > 0 and < 1, got " + show(test_fraction));
}

uint64_t test_count(uint64_t n, double fraction) {
  return static_cast<uint64_t>(std::floor(double(n) * fraction + 1e-9));
}

SplitParts split_dataset(const Dataset& ds, const SplitConfig& cfg) {
  cfg.validate();
  SplitParts p{empty_like(ds), empty_like(ds), 0};
  const CsrView m = ds.user_items();
  const int64_t* first = ds.first_ts();
  const int64_t* last = ds.last_ts();
  std::vector<uint64_t> order;  // the user's entries, to be ranked for holdout
  std::vector<uint8_t> in_test;
  for (uint32_t u = 0; u < ds.n_users(); ++u) {
    const uint64_t b = m.row_begin(u), e = m.row_end(u);
    const uint64_t held = test_count(e - b, cfg.test_fraction);
    in_test.assign(e - b, 0);
    if (held > 0) {
      order.resize(e - b);
      for (uint64_t k = b; k < e; ++k) order[k - b] = k;
      // Rank so that the entries to hold out come last; entries within a row
      // have distinct videos, so the video index makes every order total.
      if (cfg.by == SplitConfig::By::Time) {
        std::sort(order.begin(), order.end(), [&](uint64_t x, uint64_t y) {
          if (last[x] != last[y]) return last[x] < last[y];
          if (first[x] != first[y]) return first[x] < first[y];
          return m.indices[x] < m.indices[y];
        });
      } else {
        const uint64_t user_key = mix(cfg.seed ^ mix(u));
        auto key = [&](uint64_t k) { return mix(user_key ^ m.indices[k]); };
        std::sort(order.begin(), order.end(), [&](uint64_t x, uint64_t y) {
          const uint64_t kx = key(x), ky = key(y);
          return kx != ky ? kx < ky : m.indices[x] < m.indices[y];
        });
      }
      for (uint64_t i = order.size() - held; i < order.size(); ++i) in_test[order[i] - b] = 1;
      ++p.test_users;
    }
    // Entries stay ascending by video within each part.
    for (uint64_t k = b; k < e; ++k) append(in_test[k - b] ? p.test : p.train, ds, k);
    p.train.indptr.push_back(p.train.indices.size());
    p.test.indptr.push_back(p.test.indices.size());
  }

  nlohmann::json split = {{"by", cfg.by == SplitConfig::By::Time ? "time" : "random"},
                          {"test_fraction", cfg.test_fraction},
                          {"per_user_test_pairs", "floor(pairs * test_fraction)"}};
  if (cfg.by == SplitConfig::By::Random) split["seed"] = cfg.seed;
  const nlohmann::json input = {{"path", ds.path()},     {"content_checksum", hex64(ds.content_checksum())},
                                {"users", ds.n_users()}, {"videos", ds.n_videos()},
                                {"pairs", ds.nnz()},     {"provenance", ds.provenance()}};
  p.train.provenance = {
      {"tool", "vidrec " VIDREC_VERSION}, {"part", "train"}, {"split", split}, {"input", input}};
  p.test.provenance = p.train.provenance;
  p.test.provenance["part"] = "test";
  return p;
}

SplitReport run_split(const SplitStageConfig& cfg) {
  cfg.split.validate();
  if (cfg.train_output.empty()) throw ConfigError("a train output path is required (-o FILE)");
  if (cfg.test_output.empty()) throw ConfigError("a test output path is required (--test FILE)");
  // Also through links, hard links and other spellings of one path.
  check_outputs({{"dataset", cfg.dataset}}, {{"-o", cfg.train_output}, {"--test", cfg.test_output}});
  OutputLock train_lock(cfg.train_output), test_lock(cfg.test_output);
  // Fail fast when a directory is not writable, before reading the input.
  if (cfg.train_output != "-") AtomicFile probe(cfg.train_output);
  if (cfg.test_output != "-") AtomicFile probe(cfg.test_output);

  const Dataset ds = Dataset::open(cfg.dataset);
  if (ds.nnz() == 0) throw InputError(cfg.dataset + ": dataset has no interactions to split");
  const SplitParts parts = split_dataset(ds, cfg.split);
  if (parts.test_users == 0) {
    const double need = std::ceil(1.0 / cfg.split.test_fraction - 1e-9);
    throw InputError(cfg.dataset + ": no user has enough interactions to hold any out: with test-fraction " +
                     show(cfg.split.test_fraction) + " a user needs at least " +
                     std::to_string(uint64_t(need)) + " distinct videos; try a larger --test-fraction");
  }
  write_dataset(parts.train, cfg.train_output);
  write_dataset(parts.test, cfg.test_output);

  SplitReport rep;
  rep.users = ds.n_users();
  rep.videos = ds.n_videos();
  rep.test_users = parts.test_users;
  rep.train_pairs = parts.train.indices.size();
  rep.test_pairs = parts.test.indices.size();
  return rep;
}

}  // namespace vidrec
