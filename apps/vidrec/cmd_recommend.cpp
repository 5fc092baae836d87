// SPDX-License-Identifier: MIT
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

#include "commands.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/base/progress.hpp"
#include "vidrec/explain/explain.hpp"
#include "vidrec/recommend/recommend.hpp"
#include "vidrec/serve/api.hpp"
#include "vidrec/serve/history_file.hpp"

namespace vidrec::cli {

namespace {
struct Options {
  std::string model;
  std::vector<std::string> users;
  std::string users_file, exclude_file, only_file, format, location, history;
  bool all = false, include_seen = false, strict_users = false, quiet = false, verify = false,
       explain = false, exact = false;
  uint32_t ef = 0;
  int k = 10, explain_n = 3;
  unsigned threads = 0;
};

RecommendOptions recommend_options(const Model& m, const Options& o) {
  if (o.k < 1) throw ConfigError("-k must be >= 1, got " + std::to_string(o.k));
  RecommendOptions r;
  r.k = uint32_t(o.k);
  r.include_seen = o.include_seen;
  r.threads = o.threads;
  r.location = o.location;
  r.exact = o.exact;
  r.ef = o.ef;
  if (!o.exclude_file.empty() || !o.only_file.empty()) {
    const auto exclude = o.exclude_file.empty() ? std::vector<std::string>{} : read_id_list(o.exclude_file);
    const auto only = o.only_file.empty() ? std::vector<std::string>{} : read_id_list(o.only_file);
    size_t unknown = 0;
    r.blocked = block_map(m, o.exclude_file.empty() ? nullptr : &exclude,
                          o.only_file.empty() ? nullptr : &only, unknown);
    if (unknown && !o.quiet)
      std::fprintf(stderr, "vidrec: %zu listed video ids are not in the model\n", unknown);
  }
  return r;
}

// --history: what serve answers for an /invocations request with that
// history (the same code, api.hpp), scored here.
void recommend_history(const Options& o) {
  if (o.users.size() > 1 || !o.users_file.empty() || o.all)
    throw ConfigError("--history describes one user: give at most one --user (its seen videos are excluded)");
  if (!o.only_file.empty()) throw ConfigError("--only is not supported with --history");
  if (o.exact) throw ConfigError("--exact is not supported with --history (serve has no such switch either)");
  Invocation inv;
  inv.user_id = o.users.empty() ? "" : o.users.front();
  inv.k = uint32_t(o.k);
  inv.include_seen = o.include_seen;
  if (!o.exclude_file.empty()) inv.exclude = read_id_list(o.exclude_file);
  inv.history = read_history_file(o.history);
  inv.has_history = true;
  inv.location = o.location;
  inv.explain = o.explain;
  inv.explain_n = uint32_t(o.explain_n);
  inv.ef = o.ef;
  const auto sm = ServingModel::load(o.model);
  const Format format = parse_format(o.format.empty() ? "json" : o.format);
  ResultWriter out(std::cout, format, ResultWriter::Kind::Recommend, sm->model(), false, o.explain);
  out.write(answer_invocation(*sm, inv));
  out.finish();
}

// The ANN index's flags (model/ann.hpp), for recommend and similar.
void add_ann_flags(CLI::App& sub, Options& o) {
  sub.add_flag("--exact", o.exact, "Score every video even when the model has an ANN index (`vidrec index`)");
  sub.add_option("--ef", o.ef,
                 "ANN search breadth: higher is slower and closer to exact (default " +
                     std::to_string(kDefaultEf) + ")");
}
}  // namespace

void register_recommend(CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand("recommend", "Top-k videos for users from a model file");
  sub->add_option("--model", o->model, "Model file written by `vidrec train`")->required();
  sub->add_option("--user", o->users, "User id (repeatable)")->take_all();
  sub->add_option("--users-file", o->users_file, "File of user ids, one a line ('-' = stdin)");
  sub->add_flag("--all", o->all, "Every user in the model");
  sub->add_option("-k", o->k, "Videos per user")->capture_default_str();
  sub->add_option("--format", o->format, "json (default for one user), jsonl (default for several), csv, tsv")
      ->check(CLI::IsMember({"json", "jsonl", "csv", "tsv"}));
  sub->add_flag("--include-seen", o->include_seen, "Keep videos the user already interacted with");
  sub->add_option("--exclude", o->exclude_file, "Never recommend the video ids in this file");
  sub->add_option("--only", o->only_file, "Recommend only video ids from this file");
  sub->add_flag("--strict-users", o->strict_users, "Unknown users are an error (exit 1), not popular videos");
  sub->add_option("--location", o->location,
                  "Users without a profile get the popular videos of this location (unknown: global)");
  sub->add_option("--threads", o->threads, "Worker threads for several users (0 = all cores)");
  sub->add_flag("--explain", o->explain, "Add each recommendation's top contributions (`because`)");
  sub->add_option("-n", o->explain_n, "Contributions per recommendation with --explain")
      ->capture_default_str();
  sub->add_option("--history", o->history,
                  "CSV videoId,value of fresh activity ('-' = stdin): fold it in as serve does");
  add_ann_flags(*sub, *o);
  sub->add_flag("--verify", o->verify, "Verify every checksum of the model before answering");
  sub->add_flag("-q,--quiet", o->quiet, "No progress or warnings on stderr");
  sub->callback([o] {
    if (o->k < 1) throw ConfigError("-k must be >= 1, got " + std::to_string(o->k));
    if (o->explain_n < 1 || uint32_t(o->explain_n) > kMaxExplainN)
      throw ConfigError("-n must be 1.." + std::to_string(kMaxExplainN) + ", got " +
                        std::to_string(o->explain_n));
    if (!o->history.empty()) return recommend_history(*o);
    const int sources = !o->users.empty() + !o->users_file.empty() + o->all;
    if (sources != 1) throw ConfigError("give exactly one of --user, --users-file or --all");
    // Header-level checks only by default: a shell loop starts this per user.
    const Model m = Model::open(o->model, o->verify ? Model::Verify::Full : Model::Verify::Header);
    const Recommender rec(m, recommend_options(m, *o));
    std::optional<FoldIn> fold;
    if (o->explain) fold = FoldIn::of(m);
    const auto because = [&](Recommendations r) {
      if (fold) explain_stored(m, *fold, r, uint32_t(o->explain_n));
      return r;
    };

    std::vector<std::string> file_ids =
        o->users_file.empty() ? std::vector<std::string>{} : read_id_list(o->users_file);
    std::vector<std::string_view> ids;
    if (o->all)
      for (uint32_t u = 0; u < m.n_users(); ++u) ids.push_back(m.user_id(u));
    for (const auto& s : o->users.empty() ? file_ids : o->users) ids.emplace_back(s);
    if (o->strict_users)
      for (std::string_view id : ids)
        if (!m.find_user(id))
          throw InputError("user '" + std::string(id) + "' is not in the model " + o->model);

    const bool several = o->all || !o->users_file.empty() || ids.size() > 1;
    const Format format = parse_format(o->format.empty() ? (several ? "jsonl" : "json") : o->format);
    std::ios::sync_with_stdio(false);
    ResultWriter out(std::cout, format, ResultWriter::Kind::Recommend, m, several, o->explain);
    if (!several) {
      out.write(because(rec.for_user(ids.front())));
    } else {
      Progress progress("recommend", ids.size(), !o->quiet && ids.size() > 100000);
      rec.for_users(
          ids, o->threads, [&](const Recommendations& r) { out.write(fold ? because(r) : r); },
          [&](size_t done) { progress.update(done, std::to_string(done) + " users"); });
      progress.finish("");
    }
    out.finish();
  });
}

void register_similar(CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto videos = std::make_shared<std::vector<std::string>>();
  auto* sub = app.add_subcommand(
      "similar", "Videos most similar to a video, or users to a user (cosine of the factors)");
  sub->add_option("--model", o->model, "Model file written by `vidrec train`")->required();
  sub->add_option("--video", *videos, "Video id (repeatable)")->take_all();
  sub->add_option("--user", o->users, "User id (repeatable): the most similar users instead")->take_all();
  sub->add_option("-k", o->k, "Similar videos per video")->capture_default_str();
  sub->add_option("--format", o->format,
                  "json (default for one video), jsonl (default for several), csv, tsv")
      ->check(CLI::IsMember({"json", "jsonl", "csv", "tsv"}));
  sub->add_option("--exclude", o->exclude_file, "Never return the video ids in this file");
  sub->add_option("--only", o->only_file, "Return only video ids from this file");
  add_ann_flags(*sub, *o);
  sub->add_flag("--verify", o->verify, "Verify every checksum of the model before answering");
  sub->add_flag("-q,--quiet", o->quiet, "No warnings on stderr");
  sub->callback([o, videos] {
    if (o->k < 1) throw ConfigError("-k must be >= 1, got " + std::to_string(o->k));
    const Model m = Model::open(o->model, o->verify ? Model::Verify::Full : Model::Verify::Header);
    const bool users = !o->users.empty();
    if (users == !videos->empty()) throw ConfigError("give --video or --user (not both)");
    if (users && (!o->exclude_file.empty() || !o->only_file.empty()))
      throw ConfigError("--exclude and --only list videos: not allowed with --user");
    const Recommender rec(m, recommend_options(m, *o));
    const std::vector<std::string>& ids = users ? o->users : *videos;
    const bool several = ids.size() > 1;
    const Format format = parse_format(o->format.empty() ? (several ? "jsonl" : "json") : o->format);
    ResultWriter out(std::cout, format,
                     users ? ResultWriter::Kind::SimilarUsers : ResultWriter::Kind::Similar, m, several);
    for (const std::string& id : ids) {
      const auto i = users ? m.find_user(id) : m.find_video(id);
      if (!i) throw InputError((users ? "user '" : "video '") + id + "' is not in the model " + o->model);
      Recommendations r;
      r.id = id;
      r.items = users ? rec.similar_users(*i) : rec.similar(*i);
      out.write(r);
    }
    out.finish();
  });
}

}  // namespace vidrec::cli
