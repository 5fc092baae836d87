// SPDX-License-Identifier: MIT
#include <cstdio>
#include <memory>
#include <string>

#include "commands.hpp"
#include "vidrec/als/train.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/base/parallel.hpp"
#include "vidrec/ingest/timestamp.hpp"

namespace vidrec::cli {

void register_train(CLI::App& app) {
  auto cfg = std::make_shared<TrainConfig>();
  auto quiet = std::make_shared<bool>(false);
  auto loss = std::make_shared<bool>(false);
  auto confidence = std::make_shared<std::string>("linear");
  auto solver = std::make_shared<std::string>("cg");
  auto weighting = std::make_shared<std::string>("none");
  auto half_life = std::make_shared<std::string>("0");
  auto now = std::make_shared<std::string>();
  auto* sub = app.add_subcommand("train", "Dataset file -> implicit-feedback ALS model file");
  sub->add_option("dataset", cfg->dataset, "Dataset file written by `vidrec prepare`")->required();
  sub->add_option("-o,--output", cfg->output, "Model file to write (atomically)")->required();
  AlsConfig& a = cfg->als;
  sub->add_option("--factors", a.factors, "Latent factors")->capture_default_str();
  sub->add_option("--iterations", a.iterations, "ALS iterations")->capture_default_str();
  sub->add_option("--regularization", a.regularization, "L2 regularization lambda")->capture_default_str();
  sub->add_option("--alpha", a.alpha, "Confidence scale: c = 1 + alpha * w")->capture_default_str();
  sub->add_option("--confidence", *confidence, "linear: 1 + alpha*w; log: 1 + alpha*log(1 + w/epsilon)")
      ->check(CLI::IsMember({"linear", "log"}))
      ->capture_default_str();
  sub->add_option("--epsilon", a.epsilon, "Epsilon of the log confidence")->capture_default_str();
  sub->add_option("--solver", *solver, "cg (conjugate gradient, as implicit) or cholesky (exact)")
      ->check(CLI::IsMember({"cg", "cholesky"}))
      ->capture_default_str();
  sub->add_option("--cg-steps", a.cg_steps, "Conjugate-gradient steps per row")->capture_default_str();
  sub->add_option("--unobserved-weight", a.unobserved_weight,
                  "Confidence alpha0 of unobserved pairs (1 in Hu, Koren & Volinsky)")
      ->capture_default_str();
  sub->add_option("--reg-exponent", a.reg_exponent,
                  "Frequency-scaled regularisation: lambda * (n_r + alpha0 * n)^exponent per row (0 = fixed)")
      ->capture_default_str();
  sub->add_option("--negative-weight", a.negative_weight,
                  "Confidence of pairs with a negative summed weight as p = 0 pairs (0 = unobserved)")
      ->capture_default_str();
  Weighting& w = cfg->weighting;
  sub->add_option("--weighting", *weighting,
                  "Reweight the matrix first: none, bm25 or tfidf (users as documents)")
      ->check(CLI::IsMember({"none", "bm25", "tfidf"}))
      ->capture_default_str();
  sub->add_option("--bm25-k1", w.k1, "BM25 K1")->capture_default_str();
  sub->add_option("--bm25-b", w.b, "BM25 B")->capture_default_str();
  sub->add_option("--half-life", *half_life,
                  "Time decay: weights halve every DURATION of age (30d, 12h; 0 = off)")
      ->capture_default_str();
  sub->add_option(
      "--now", *now,
      "Reference time of --half-life (epoch seconds or YYYY-MM-DD HH:MM:SS UTC; default: the newest event)");
  sub->add_option("--threads", a.threads, "Worker threads (0 = all cores)")->capture_default_str();
  sub->add_option("--seed", a.seed, "Random seed of the initial factors")->capture_default_str();
  sub->add_flag("--loss", *loss, "Compute and print the weighted training loss each iteration");
  sub->add_flag("-q,--quiet", *quiet, "No progress or summary on stderr");
  sub->callback([cfg, quiet, loss, confidence, solver, weighting, half_life, now] {
    cfg->weighting.scheme = parse_scheme(*weighting);
    cfg->weighting.half_life = parse_duration(*half_life);
    if (!now->empty()) {
      int64_t t = 0;
      if (!parse_timestamp(*now, t)) throw ConfigError("--now: not a timestamp: '" + *now + "'");
      cfg->weighting.now = t;
    }
    cfg->als.confidence = *confidence == "log" ? AlsConfig::Confidence::Log : AlsConfig::Confidence::Linear;
    cfg->als.solver = *solver == "cholesky" ? AlsConfig::Solver::Cholesky : AlsConfig::Solver::CG;
    cfg->als.compute_loss = *loss;
    cfg->progress = !*quiet;
    const TrainReport rep = run_train(*cfg);
    if (!*quiet && rep.primary)
      std::fprintf(stderr,
                   "train: %u users, %u videos, %llu pairs, %u factors, %zu iterations%s in %.2f s -> %s\n",
                   rep.users, rep.videos, static_cast<unsigned long long>(rep.pairs), cfg->als.factors,
                   rep.stats.iteration_seconds.size(),
                   rep.ranks > 1 ? (" on " + std::to_string(rep.ranks) + " ranks").c_str() : "", rep.seconds,
                   cfg->output.c_str());
  });
}

}  // namespace vidrec::cli
