// SPDX-License-Identifier: MIT
#include "vidrec/report/report.hpp"

#include <algorithm>
#include <fstream>
#include <numeric>

#include "vidrec/base/errors.hpp"
#include "vidrec/base/progress.hpp"
#include "vidrec/evaluate/evaluate.hpp"
#include "vidrec/ingest/timestamp.hpp"
#include "vidrec/inspect/inspect.hpp"
#include "vidrec/io/atomic_file.hpp"
#include "vidrec/io/paths.hpp"
#include "vidrec/recommend/recommend.hpp"
#include "vidrec/tune/random.hpp"

namespace vidrec {

namespace {

constexpr uint32_t kListLength = 10, kHistoryShown = 10;

// Algorithm S: n of [0, population) (all when fewer), ascending.
std::vector<uint32_t> sample(uint64_t population, uint64_t n, uint64_t seed) {
  SplitMix64 rng(seed);
  std::vector<uint32_t> out;
  uint64_t need = std::min(n, population);
  for (uint64_t i = 0; i < population && need; ++i)
    if (double(population - i) * rng.uniform() < double(need)) {
      out.push_back(uint32_t(i));
      --need;
    }
  return out;
}

nlohmann::json evaluation(const Model& model, const ReportConfig& cfg) {
  const Dataset test = Dataset::open(cfg.test);
  const CsrView t = test.user_items();
  std::vector<uint32_t> with_pairs;
  for (uint32_t u = 0; u < test.n_users(); ++u)
    if (t.row_end(u) > t.row_begin(u)) with_pairs.push_back(u);
  std::vector<uint32_t> users = sample(with_pairs.size(), cfg.sample_users, cfg.seed);
  for (uint32_t& u : users) u = with_pairs[u];
  std::vector<uint32_t> cutoffs(cfg.max_k);
  std::iota(cutoffs.begin(), cutoffs.end(), 1u);
  nlohmann::json at = nlohmann::json::array();
  for (const EvaluateReport& r : evaluate_cutoffs(model, test, cutoffs, cfg.threads, &users))
    at.push_back(r.to_json());
  return {{"test", cfg.test},
          {"test_users", with_pairs.size()},
          {"sampled", users.size() < with_pairs.size()},
          {"seed", cfg.seed},
          {"at", at}};
}

// A user's most recent pairs (by last event, then video index) from the
// dataset, or, without one, the videos the model has as seen, in index order.
nlohmann::json history(const Model& model, const Dataset* ds, uint32_t user, uint64_t& total) {
  nlohmann::json h = nlohmann::json::array();
  const auto du = ds ? ds->find_user(model.user_id(user)) : std::nullopt;
  if (!du) {
    const uint32_t *b = model.seen_begin(user), *e = model.seen_end(user);
    total = uint64_t(e - b);
    for (const uint32_t* p = b; p != e && h.size() < kHistoryShown; ++p)
      h.push_back({{"videoId", model.video_id(*p)}});
    return h;
  }
  const CsrView m = ds->user_items();
  std::vector<uint64_t> pairs(m.row_end(*du) - m.row_begin(*du));
  std::iota(pairs.begin(), pairs.end(), m.row_begin(*du));
  total = pairs.size();
  const int64_t* last = ds->last_ts();
  std::stable_sort(pairs.begin(), pairs.end(), [last](uint64_t a, uint64_t b) { return last[a] > last[b]; });
  for (size_t i = 0; i < pairs.size() && i < kHistoryShown; ++i)
    h.push_back({{"videoId", ds->video_id(m.indices[pairs[i]])},
                 {"weight", m.values[pairs[i]]},
                 {"last", format_timestamp(last[pairs[i]])}});
  return h;
}

// Coverage and the long tail over a sample of users' top 10, and the
// recommendation table for the first few of them.
void catalog(const Model& model, const Dataset* ds, const ReportConfig& cfg, nlohmann::json& out) {
  const uint32_t nv = model.n_videos();
  const std::vector<uint32_t> users = sample(model.n_users(), cfg.sample_users, cfg.seed);
  const uint32_t n_bins = std::min(kTailBins, std::max(nv, 1u));
  std::vector<uint32_t> bin(nv);
  for (uint32_t i = 0; i < nv; ++i) bin[model.popular(i)] = uint32_t(uint64_t(i) * n_bins / nv);
  std::vector<uint64_t> seen_bins(n_bins), rec_bins(n_bins);
  std::vector<uint8_t> recommended(nv);
  uint64_t seen_total = 0, rec_total = 0, distinct = 0;
  std::vector<std::string_view> ids;
  for (uint32_t u : users) {
    ids.push_back(model.user_id(u));
    for (const uint32_t* p = model.seen_begin(u); p != model.seen_end(u); ++p, ++seen_total)
      ++seen_bins[bin[*p]];
  }
  RecommendOptions ro;
  ro.k = kListLength;
  const Recommender rec(model, ro);
  nlohmann::json shown = nlohmann::json::array();
  size_t i = 0;
  rec.for_users(ids, cfg.threads, [&](const Recommendations& r) {
    nlohmann::json list = nlohmann::json::array();
    for (const Scored& s : r.items) {
      ++rec_bins[bin[s.video]];
      ++rec_total;
      distinct += !recommended[s.video];
      recommended[s.video] = 1;
      list.push_back({{"videoId", model.video_id(s.video)}, {"score", s.score}});
    }
    if (i < cfg.sample_shown) {
      uint64_t total = 0;
      nlohmann::json h = history(model, ds, users[i], total);
      shown.push_back({{"userId", r.id},
                       {"source", r.source == Source::Model ? "model" : "popular"},
                       {"history", h},
                       {"history_pairs", total},
                       {"recommendations", list}});
    }
    ++i;
  });
  nlohmann::json bins = nlohmann::json::array();
  for (uint32_t b = 0; b < n_bins; ++b)
    bins.push_back({{"interactions", seen_bins[b]}, {"recommendations", rec_bins[b]}});
  out["catalog"] = {{"users", users.size()},
                    {"population", model.n_users()},
                    {"seed", cfg.seed},
                    {"k", kListLength},
                    {"videos", nv},
                    {"recommended_videos", distinct},
                    {"coverage", nv ? double(distinct) / nv : 0.0},
                    {"interactions", seen_total},
                    {"recommendations", rec_total},
                    {"bins", bins}};
  out["samples"] = {{"history_from", ds ? "dataset" : "model"}, {"users", shown}};
}

nlohmann::json tune_log(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError(path + ": cannot open the tune log");
  nlohmann::json evals = nlohmann::json::array();
  uint64_t line_no = 0, diverged = 0;
  long best = -1;
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    const std::string where = path + ":" + std::to_string(line_no) + ": ";
    if (!j.is_object())
      throw InputError(where + "not a JSON object (expected a line of `vidrec tune`'s output)");
    if (!j.contains("parameters") || !j["parameters"].is_object() || !j.contains("value"))
      throw InputError(where +
                       "no \"parameters\" object or \"value\" (expected a line of `vidrec tune`'s output)");
    if (j["value"].is_null()) {
      ++diverged;
      continue;
    }
    if (!j["value"].is_number()) throw InputError(where + "\"value\" is not a number");
    if (best < 0 || j["value"].get<double>() > evals[size_t(best)]["value"].get<double>())
      best = long(evals.size());
    evals.push_back(j);
  }
  if (in.bad()) throw IoError(path + ": read failed");
  return {{"path", path}, {"evaluations", evals}, {"diverged", diverged}, {"best", best}};
}

}  // namespace

void ReportConfig::validate() const {
  if (model.empty()) throw ConfigError("--model is required");
  if (output.empty()) throw ConfigError("-o is required");
  if (max_k < 1 || max_k > 254) throw ConfigError("max-k must be 1 to 254, got " + std::to_string(max_k));
  if (sample_users < 1) throw ConfigError("sample-users must be >= 1");
  if (threads > 4096)
    throw ConfigError("threads must be <= 4096 (0 = all cores), got " + std::to_string(threads));
}

nlohmann::json report_data(const ReportConfig& cfg) {
  cfg.validate();
  Progress progress("report", 0, !cfg.quiet);
  progress.update(0, "model card", true);
  nlohmann::json out = {
      {"model", describe_file(cfg.model)}, {"dataset", nullptr}, {"evaluation", nullptr}, {"tune", nullptr}};
  const Model model = Model::open(cfg.model, Model::Verify::Header);
  std::optional<Dataset> ds;
  if (!cfg.dataset.empty()) {
    out["dataset"] = describe_file(cfg.dataset);
    ds.emplace(Dataset::open(cfg.dataset));
  }
  if (!cfg.tune_log.empty()) out["tune"] = tune_log(cfg.tune_log);
  if (!cfg.test.empty()) {
    progress.update(1,
                    "evaluating k = 1.." + std::to_string(cfg.max_k) + " on at most " +
                        std::to_string(cfg.sample_users) + " test users",
                    true);
    out["evaluation"] = evaluation(model, cfg);
  }
  progress.update(2,
                  "top " + std::to_string(kListLength) + " of at most " + std::to_string(cfg.sample_users) +
                      " users (seed " + std::to_string(cfg.seed) + ")",
                  true);
  catalog(model, ds ? &*ds : nullptr, cfg, out);
  progress.finish("");
  return out;
}

uint64_t run_report(const ReportConfig& cfg) {
  cfg.validate();
  std::vector<NamedPath> inputs = {{"--model", cfg.model}};
  for (const NamedPath& p : {NamedPath{"--test", cfg.test}, NamedPath{"--tune-log", cfg.tune_log},
                             NamedPath{"--dataset", cfg.dataset}})
    if (!p.path.empty()) inputs.push_back(p);
  check_outputs(inputs, {{"-o", cfg.output}});
  OutputLock lock(cfg.output);
  AtomicFile file(cfg.output);
  const std::string html = render_html(report_data(cfg));
  file.write(html.data(), html.size());
  file.commit();
  return html.size();
}

}  // namespace vidrec
