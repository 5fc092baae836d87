// SPDX-License-Identifier: MIT
#include "vidrec/evaluate/evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "vidrec/base/errors.hpp"
#include "vidrec/base/parallel.hpp"
#include "vidrec/recommend/recommend.hpp"

namespace vidrec {

namespace {

constexpr uint32_t kNone = UINT32_MAX;

// Per-video state while one user is evaluated; reset to kCandidate afterwards
// so the array is allocated once per thread, not once per user.
enum : uint8_t { kCandidate = 0, kRelevant = 1, kExcluded = 2 };

// Activity segments by training pairs: [kSegmentFloor[i], kSegmentFloor[i + 1]).
constexpr uint64_t kSegmentFloor[] = {1, 5, 20, UINT64_MAX};
constexpr const char* kSegmentName[] = {"1-4", "5-19", "20+"};
constexpr size_t kSegments = 3;

struct UserFigures {
  double precision = 0, recall = 0, ap = 0, ndcg = 0, auc = 0;
  bool auc_defined = false;
};

struct EvalUser {
  uint32_t test_user, model_user;
  int segment;  // -1: no training pair
};

struct Scratch {
  std::vector<float> scores;  // block x panel stride
  std::vector<float*> score_rows;
  std::vector<uint32_t> model_users;
  std::vector<std::vector<Scored>> lists;
  std::vector<uint8_t> state;
  std::vector<uint32_t> top;
  std::vector<double> relevant_scores;
  std::vector<uint8_t> recommended_model, recommended_popular;
};

// Ranking figures of one ranked list at each cutoff (ascending): f[c] gets
// the figures of its first cutoffs[c] entries, exactly what the list ranked
// with k = cutoffs[c] scores (the same sums in the same order). `relevant` is
// |R| including the relevant videos that could not be recommended.
void list_figures(const std::vector<uint32_t>& top, const uint8_t* state, uint64_t relevant,
                  const std::vector<uint32_t>& cutoffs, UserFigures* f) {
  double hits = 0, ap = 0, dcg = 0, idcg = 0;
  size_t i = 0;
  uint64_t ideal_done = 0;
  for (size_t c = 0; c < cutoffs.size(); ++c) {
    const uint32_t k = cutoffs[c];
    for (; i < std::min<size_t>(k, top.size()); ++i)
      if (state[top[i]] == kRelevant) {
        hits += 1;
        ap += hits / double(i + 1);
        dcg += 1.0 / std::log2(double(i + 2));
      }
    const uint64_t ideal = std::min<uint64_t>(k, relevant);
    for (; ideal_done < ideal; ++ideal_done) idcg += 1.0 / std::log2(double(ideal_done + 2));
    f[c].precision = hits / k;
    f[c].recall = hits / double(relevant);
    f[c].ap = ap / double(ideal);
    f[c].ndcg = dcg / idcg;
  }
}

// AUC over the candidates: each non-relevant candidate is placed among the
// relevant scores -- O(V log |R|) per user by binary search in the sorted
// scores instead of comparing all |R| x V pairs, or, for the few relevant
// videos most users have, by a branch-free scan of them, which is faster.
template <class Score>
void auc_figure(uint32_t n_videos, const uint8_t* state, Score score, std::vector<double>& rel,
                UserFigures& f) {
  constexpr size_t kScan = 8;
  rel.clear();
  for (uint32_t v = 0; v < n_videos; ++v)
    if (state[v] == kRelevant) rel.push_back(score(v));
  std::sort(rel.begin(), rel.end());
  uint64_t above = 0, tied = 0, negatives = 0;  // relevant scores above / equal to a candidate's
  for (uint32_t v = 0; v < n_videos; ++v) {
    if (state[v] != kCandidate) continue;
    ++negatives;
    const double s = score(v);
    if (rel.size() <= kScan) {
      for (const double r : rel) {
        above += r > s;
        tied += r == s;
      }
    } else {
      const auto lo = std::lower_bound(rel.begin(), rel.end(), s);
      const auto hi = std::upper_bound(lo, rel.end(), s);
      above += uint64_t(rel.end() - hi);
      tied += uint64_t(hi - lo);
    }
  }
  f.auc_defined = !rel.empty() && negatives > 0;
  if (f.auc_defined) f.auc = (double(above) + 0.5 * double(tied)) / (double(rel.size()) * double(negatives));
}

// What every user's evaluation reads.
struct Context {
  const Model& model;
  const CsrView& test;
  const std::vector<uint32_t>& video_map;  // test video -> model video or kNone
  const std::vector<uint32_t>& cutoffs;    // ascending; lists are ranked to the last
};

// A video's `recommended` byte per ranker and group (anyone, segment s): the
// index of the first cutoff whose lists hold it, kNever if none.
constexpr uint8_t kNever = UINT8_MAX;
constexpr size_t kGroups = 1 + kSegments;
void mark(std::vector<uint8_t>& recommended, uint32_t v, int segment, uint8_t cutoff) {
  for (size_t g : {size_t(0), segment >= 0 ? size_t(1 + segment) : size_t(0)}) {
    uint8_t& r = recommended[size_t(v) * kGroups + g];
    r = std::min(r, cutoff);
  }
}
void mark_list(const std::vector<uint32_t>& top, const std::vector<uint32_t>& cutoffs, int segment,
               std::vector<uint8_t>& recommended) {
  uint8_t c = 0;
  for (size_t i = 0; i < top.size(); ++i) {
    while (i >= cutoffs[c]) ++c;
    mark(recommended, top[i], segment, c);
  }
}

// Both rankers' figures for one user at every cutoff (fm, fp: one per
// cutoff), given the model's top list and its scores of every video.
void evaluate_user(const Context& c, EvalUser eu, const std::vector<Scored>& list, const float* score,
                   Scratch& s, UserFigures* fm, UserFigures* fp) {
  const Model& model = c.model;
  const uint32_t nv = model.n_videos(), k = c.cutoffs.back();
  const uint32_t *seen_b = model.seen_begin(eu.model_user), *seen_e = model.seen_end(eu.model_user);
  for (const uint32_t* p = seen_b; p != seen_e; ++p) s.state[*p] = kExcluded;
  const uint64_t tb = c.test.row_begin(eu.test_user), te = c.test.row_end(eu.test_user);
  for (uint64_t i = tb; i < te; ++i) {
    const uint32_t mv = c.video_map[c.test.indices[i]];
    if (mv != kNone && s.state[mv] == kCandidate) s.state[mv] = kRelevant;
  }
  const uint64_t relevant = te - tb;
  const size_t nc = c.cutoffs.size();
  // AUC does not depend on the cutoff: computed once, copied to every one.
  const auto auc_all = [nc](UserFigures* f) {
    for (size_t i = 1; i < nc; ++i) {
      f[i].auc = f[0].auc;
      f[i].auc_defined = f[0].auc_defined;
    }
  };

  s.top.clear();
  for (const Scored& x : list) s.top.push_back(x.video);
  mark_list(s.top, c.cutoffs, eu.segment, s.recommended_model);
  list_figures(s.top, s.state.data(), relevant, c.cutoffs, fm);
  auc_figure(
      nv, s.state.data(), [score](uint32_t v) { return double(score[v]); }, s.relevant_scores, fm[0]);
  auc_all(fm);

  // Baseline: popular_order is already sorted by popularity, ties by index.
  const uint32_t* order = model.popular_order();
  const uint32_t* popularity = model.popularity();
  s.top.clear();
  for (uint32_t i = 0; i < nv && s.top.size() < k; ++i)
    if (s.state[order[i]] != kExcluded) s.top.push_back(order[i]);
  mark_list(s.top, c.cutoffs, eu.segment, s.recommended_popular);
  list_figures(s.top, s.state.data(), relevant, c.cutoffs, fp);
  auc_figure(
      nv, s.state.data(), [popularity](uint32_t v) { return double(popularity[v]); }, s.relevant_scores,
      fp[0]);
  auc_all(fp);

  for (const uint32_t* p = seen_b; p != seen_e; ++p) s.state[*p] = kCandidate;
  for (uint64_t i = tb; i < te; ++i)
    if (c.video_map[c.test.indices[i]] != kNone) s.state[c.video_map[c.test.indices[i]]] = kCandidate;
}

// The figures at cutoff index c of the users of `segment` (-1: all) averaged,
// in user order; coverage from the videos the group's lists hold by cutoff c.
RankingMetrics reduce(const std::vector<UserFigures>& figs, size_t nc, size_t c,
                      const std::vector<EvalUser>& users, int segment,
                      const std::vector<uint8_t>& recommended) {
  RankingMetrics m;
  for (size_t i = 0; i < users.size(); ++i) {
    if (segment >= 0 && users[i].segment != segment) continue;
    const UserFigures& f = figs[i * nc + c];
    ++m.users;
    m.precision += f.precision;
    m.recall += f.recall;
    m.map += f.ap;
    m.ndcg += f.ndcg;
    if (f.auc_defined) {
      m.auc += f.auc;
      ++m.auc_users;
    }
  }
  if (m.users) {
    m.precision /= double(m.users);
    m.recall /= double(m.users);
    m.map /= double(m.users);
    m.ndcg /= double(m.users);
  }
  if (m.auc_users) m.auc /= double(m.auc_users);
  const size_t group = segment >= 0 ? size_t(1 + segment) : 0, nv = recommended.size() / kGroups;
  for (size_t v = 0; v < nv; ++v) m.recommended_videos += recommended[v * kGroups + group] <= c;
  if (nv) m.coverage = double(m.recommended_videos) / double(nv);
  return m;
}

}  // namespace

void EvaluateConfig::validate() const {
  if (k < 1) throw ConfigError("k must be >= 1, got " + std::to_string(k));
  if (threads > 4096)
    throw ConfigError("threads must be <= 4096 (0 = all cores), got " + std::to_string(threads));
}

std::vector<EvaluateReport> evaluate_cutoffs(const Model& model, const Dataset& test,
                                             const std::vector<uint32_t>& cutoffs, unsigned threads,
                                             const std::vector<uint32_t>* test_users,
                                             const ListObserver& observe) {
  for (size_t c = 0; c < cutoffs.size(); ++c) EvaluateConfig{cutoffs[c], threads}.validate();
  if (cutoffs.empty() || cutoffs.size() >= kNever || !std::is_sorted(cutoffs.begin(), cutoffs.end()) ||
      std::adjacent_find(cutoffs.begin(), cutoffs.end()) != cutoffs.end())
    throw ConfigError("cutoffs must be 1 to 254 distinct ascending values");
  EvaluateReport rep;
  rep.test_pairs = test.nnz();
  rep.model_videos = model.n_videos();
  const uint32_t nv = model.n_videos(), k = cutoffs.back();
  const size_t nc = cutoffs.size();

  // Map test videos to the model once; then find the users to evaluate and
  // count the pairs that cannot be hit, sequentially so counts are exact.
  std::vector<uint32_t> video_map(test.n_videos(), kNone);
  for (uint32_t v = 0; v < test.n_videos(); ++v)
    if (auto mv = model.find_video(test.video_id(v))) video_map[v] = *mv;
  const CsrView t = test.user_items();
  std::vector<EvalUser> users;
  const size_t n_candidates = test_users ? test_users->size() : test.n_users();
  for (size_t n = 0; n < n_candidates; ++n) {
    const uint32_t u = test_users ? (*test_users)[n] : uint32_t(n);
    if (u >= test.n_users()) throw ConfigError("test user index out of range");
    const uint64_t b = t.row_begin(u), e = t.row_end(u);
    if (b == e) continue;
    ++rep.test_users;
    const auto mu = model.find_user(test.user_id(u));
    if (!mu) {
      ++rep.users_unknown;
      rep.pairs_unknown_user += e - b;
      continue;
    }
    const uint64_t trained = uint64_t(model.seen_end(*mu) - model.seen_begin(*mu));
    int segment = -1;
    for (size_t s = 0; s < kSegments; ++s)
      if (trained >= kSegmentFloor[s] && trained < kSegmentFloor[s + 1]) segment = int(s);
    users.push_back({u, *mu, segment});
    for (uint64_t i = b; i < e; ++i) {
      const uint32_t mv = video_map[t.indices[i]];
      if (mv == kNone)
        ++rep.pairs_unknown_video;
      else if (std::binary_search(model.seen_begin(*mu), model.seen_end(*mu), mv))
        ++rep.pairs_seen_in_training;
    }
  }
  if (users.empty())
    throw InputError(test.path() + ": none of its " + std::to_string(rep.test_users) +
                     " test users is known to the model " + model.path() +
                     "; was the model trained on the train part of this split?");

  RecommendOptions ro;
  ro.k = k;
  const Recommender rec(model, ro);
  const uint32_t stride = model.panel().stride;
  const Context ctx{model, t, video_map, cutoffs};
  // Blocks keep the scores near 32 MB per thread (8M floats) whatever the
  // catalogue size, and hand the kernel as many users as for_users does.
  const uint64_t block = std::min<uint64_t>(
      std::clamp<uint64_t>((uint64_t{1} << 23) / std::max<uint32_t>(stride, 1), 1, 256), users.size());
  const uint64_t n_blocks = (users.size() + block - 1) / block;
  std::vector<UserFigures> fig_model(users.size() * nc), fig_popular(users.size() * nc);
  std::vector<Scratch> scratch(resolve_threads(threads));

  parallel_for(
      n_blocks, threads,
      [&](uint64_t block_begin, uint64_t block_end, unsigned tid) {
        Scratch& s = scratch[tid];
        if (s.state.empty()) {
          s.state.assign(nv, kCandidate);
          s.recommended_model.assign(size_t(nv) * kGroups, kNever);
          s.recommended_popular.assign(size_t(nv) * kGroups, kNever);
          s.scores.resize(block * stride);
          for (uint64_t j = 0; j < block; ++j) s.score_rows.push_back(s.scores.data() + j * stride);
          s.lists.resize(block);
        }
        for (uint64_t blk = block_begin; blk < block_end; ++blk) {
          const uint64_t first = blk * block, count = std::min<uint64_t>(block, users.size() - first);
          s.model_users.clear();
          for (uint64_t j = 0; j < count; ++j) s.model_users.push_back(users[first + j].model_user);
          rec.rank(s.model_users.data(), count, s.lists.data(), s.score_rows.data());
          for (uint64_t j = 0; j < count; ++j) {
            if (observe) observe(users[first + j].model_user, s.lists[j]);
            evaluate_user(ctx, users[first + j], s.lists[j], s.score_rows[j], s, &fig_model[(first + j) * nc],
                          &fig_popular[(first + j) * nc]);
          }
        }
      },
      1);

  std::vector<uint8_t> rec_model(size_t(nv) * kGroups, kNever), rec_popular(size_t(nv) * kGroups, kNever);
  for (const Scratch& s : scratch) {
    if (s.state.empty()) continue;  // a thread that got no block
    for (size_t i = 0; i < rec_model.size(); ++i) {
      rec_model[i] = std::min(rec_model[i], s.recommended_model[i]);
      rec_popular[i] = std::min(rec_popular[i], s.recommended_popular[i]);
    }
  }
  std::vector<EvaluateReport> out(nc, rep);
  for (size_t c = 0; c < nc; ++c) {
    EvaluateReport& r = out[c];
    r.k = cutoffs[c];
    r.model = reduce(fig_model, nc, c, users, -1, rec_model);
    r.popularity = reduce(fig_popular, nc, c, users, -1, rec_popular);
    for (size_t seg = 0; seg < kSegments; ++seg) {
      SegmentMetrics m;
      m.name = kSegmentName[seg];
      m.model = reduce(fig_model, nc, c, users, int(seg), rec_model);
      m.popularity = reduce(fig_popular, nc, c, users, int(seg), rec_popular);
      r.segments.push_back(std::move(m));
    }
  }
  return out;
}

EvaluateReport evaluate(const Model& model, const Dataset& test, const EvaluateConfig& cfg,
                        const ListObserver& observe) {
  cfg.validate();
  return evaluate_cutoffs(model, test, {cfg.k}, cfg.threads, nullptr, observe)[0];
}

EvaluateReport run_evaluate(const EvaluateStageConfig& cfg) {
  cfg.eval.validate();
  const Model model = Model::open(cfg.model);
  const Dataset test = Dataset::open(cfg.test);
  return evaluate(model, test, cfg.eval);
}

nlohmann::json RankingMetrics::to_json() const {
  return {{"precision", precision},
          {"recall", recall},
          {"map", map},
          {"ndcg", ndcg},
          // Undefined, not 0, when no user has both kinds of candidate.
          {"auc", auc_users ? nlohmann::json(auc) : nlohmann::json()},
          {"coverage", coverage},
          {"users", users},
          {"auc_users", auc_users},
          {"recommended_videos", recommended_videos}};
}

nlohmann::json EvaluateReport::to_json() const {
  nlohmann::json segs = nlohmann::json::array();
  for (const SegmentMetrics& s : segments) segs.push_back(s.to_json());
  return {{"k", k},
          {"test_users", test_users},
          {"users_evaluated", model.users},
          {"users_unknown", users_unknown},
          {"test_pairs", test_pairs},
          {"pairs_unknown_user", pairs_unknown_user},
          {"pairs_unknown_video", pairs_unknown_video},
          {"pairs_seen_in_training", pairs_seen_in_training},
          {"model_videos", model_videos},
          {"model", model.to_json()},
          {"popularity", popularity.to_json()},
          {"segments", segs}};
}

nlohmann::json SegmentMetrics::to_json() const {
  return {{"name", name},
          {"users", model.users},
          {"model", model.to_json()},
          {"popularity", popularity.to_json()}};
}

namespace {
std::string auc_cell(const RankingMetrics& m) {
  char c[32];
  if (m.auc_users)
    std::snprintf(c, sizeof c, "%.4f", m.auc);
  else
    std::snprintf(c, sizeof c, "n/a");
  return c;
}
}  // namespace

std::string EvaluateReport::to_text() const {
  std::ostringstream o;
  char line[200];
  std::snprintf(line, sizeof line, "k = %u; %llu test users, %llu evaluated, %llu unknown to the model\n", k,
                static_cast<unsigned long long>(test_users), static_cast<unsigned long long>(model.users),
                static_cast<unsigned long long>(users_unknown));
  o << line;
  if (pairs_unknown_video || pairs_seen_in_training) {
    std::snprintf(
        line, sizeof line,
        "note: of %llu test pairs, %llu have a video unknown to the model and %llu a video the user "
        "has in training; both count as relevant but cannot be recommended\n",
        static_cast<unsigned long long>(test_pairs), static_cast<unsigned long long>(pairs_unknown_video),
        static_cast<unsigned long long>(pairs_seen_in_training));
    o << line;
  }
  std::snprintf(line, sizeof line, "%-16s %10s %11s\n", "metric", "model", "popularity");
  o << line;
  const std::string at = "@" + std::to_string(k);
  auto row = [&](const std::string& name, double a, double b) {
    std::snprintf(line, sizeof line, "%-16s %10.4f %11.4f\n", name.c_str(), a, b);
    o << line;
  };
  row("precision" + at, model.precision, popularity.precision);
  row("recall" + at, model.recall, popularity.recall);
  row("map" + at, model.map, popularity.map);
  row("ndcg" + at, model.ndcg, popularity.ndcg);
  std::snprintf(line, sizeof line, "%-16s %10s %11s\n", "auc", auc_cell(model).c_str(),
                auc_cell(popularity).c_str());
  o << line;
  row("coverage" + at, model.coverage, popularity.coverage);
  std::snprintf(line, sizeof line, "%-16s %10llu %11llu\n", "users",
                static_cast<unsigned long long>(model.users),
                static_cast<unsigned long long>(popularity.users));
  o << line;

  // One row per segment and ranker.
  o << "\nby training pairs per user:\n";
  std::snprintf(line, sizeof line, "%-8s %-10s %8s %12s %10s %8s %8s %8s %12s\n", "pairs", "ranker", "users",
                ("precision" + at).c_str(), ("recall" + at).c_str(), ("map" + at).c_str(),
                ("ndcg" + at).c_str(), "auc", ("coverage" + at).c_str());
  o << line;
  for (const SegmentMetrics& s : segments)
    for (const auto& [ranker, m] :
         {std::pair<const char*, const RankingMetrics&>{"model", s.model},
          std::pair<const char*, const RankingMetrics&>{"popularity", s.popularity}}) {
      std::snprintf(line, sizeof line, "%-8s %-10s %8llu %12.4f %10.4f %8.4f %8.4f %8s %12.4f\n",
                    s.name.c_str(), ranker, static_cast<unsigned long long>(m.users), m.precision, m.recall,
                    m.map, m.ndcg, auc_cell(m).c_str(), m.coverage);
      o << line;
    }
  return o.str();
}

}  // namespace vidrec
