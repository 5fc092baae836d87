// SPDX-License-Identifier: MIT
#include <iostream>
#include <memory>
#include <string>

#include "commands.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/explain/explain.hpp"
#include "vidrec/recommend/recommend.hpp"

namespace vidrec::cli {

void register_explain(CLI::App& app) {
  struct Options {
    std::string model, user, video, format = "json";
    int n = 5;
    bool verify = false;
  };
  auto o = std::make_shared<Options>();
  auto* sub =
      app.add_subcommand("explain", "Why a video scores as it does for a user: per seen video contributions");
  sub->add_option("--model", o->model, "Model file written by `vidrec train`")->required();
  sub->add_option("--user", o->user, "User id")->required();
  sub->add_option("--video", o->video, "Video id")->required();
  sub->add_option("-n", o->n, "Contributions listed (the rest are summed in `other`)")->capture_default_str();
  sub->add_option("--format", o->format, "json, csv or tsv")->check(CLI::IsMember({"json", "csv", "tsv"}));
  sub->add_flag("--verify", o->verify, "Verify every checksum of the model before answering");
  sub->callback([o] {
    if (o->n < 1) throw ConfigError("-n must be >= 1, got " + std::to_string(o->n));
    const Model m = Model::open(o->model, o->verify ? Model::Verify::Full : Model::Verify::Header);
    const auto u = m.find_user(o->user);
    if (!u) throw InputError("user '" + o->user + "' is not in the model " + o->model);
    const auto v = m.find_video(o->video);
    if (!v) throw InputError("video '" + o->video + "' is not in the model " + o->model);
    const PairExplanation p = explain_pair(m, FoldIn::of(m), *u, *v, uint32_t(o->n));
    write_explanation(std::cout, parse_format(o->format), m, o->user, o->video, p.score, p.model_score, p.top,
                      p.other);
  });
}

}  // namespace vidrec::cli
