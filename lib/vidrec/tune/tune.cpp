// SPDX-License-Identifier: MIT
#include "vidrec/tune/tune.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include "vidrec/base/errors.hpp"
#include "vidrec/base/progress.hpp"
#include "vidrec/io/atomic_file.hpp"
#include "vidrec/io/paths.hpp"
#include "vidrec/io/spill_dir.hpp"
#include "vidrec/tune/search.hpp"
#include "vidrec/tune/settings.hpp"
#include "vidrec/tune/trials.hpp"

namespace vidrec {

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t kCandidates = 5;  // trials in the final check
constexpr uint32_t kReplicas = 3;    // more seeds each

std::string show(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// The progress line: evaluations so far, the last one and the best.
class TuneProgress {
 public:
  TuneProgress(const TuneConfig& cfg, const Metric& metric)
      : cfg_(cfg),
        metric_(metric.name()),
        progress_("tune", cfg.trials > 0 ? cfg.trials : uint64_t(std::ceil(cfg.budget_seconds)),
                  cfg.progress) {}
  void add(const nlohmann::ordered_json& line) {
    ++evaluations_;
    const uint32_t trial = line["trial"].get<uint32_t>();
    trials_ = std::max<uint64_t>(trials_, trial + 1);
    const bool ok = !line["value"].is_null();
    if (ok && (!best_ || line["value"].get<double>() > best_value_)) {
      best_ = trial;
      best_value_ = line["value"].get<double>();
    }
    char detail[192];
    const std::string value = ok ? show(line["value"].get<double>()) : "diverged";
    std::snprintf(detail, sizeof detail,
                  "%llu trials, %llu evaluations; trial %u (%u it) %s %s; best %s (trial %u)",
                  static_cast<unsigned long long>(trials_), static_cast<unsigned long long>(evaluations_),
                  trial, line["iterations"].get<uint32_t>(), metric_.c_str(), value.c_str(),
                  best_ ? show(best_value_).c_str() : "-", best_.value_or(0));
    progress_.update(cfg_.trials > 0 ? trials_ : uint64_t(progress_.elapsed()), detail, false);
  }
  void finish() { progress_.finish(""); }

 private:
  const TuneConfig& cfg_;
  std::string metric_;
  Progress progress_;
  uint64_t evaluations_ = 0, trials_ = 0;
  std::optional<uint32_t> best_;
  double best_value_ = 0;
};

nlohmann::json read_space(const TuneConfig& cfg) {
  if (cfg.space_file.empty()) return nlohmann::json::object();
  nlohmann::json doc = read_space_file(cfg.space_file);
  SearchSpace probe = default_space({});  // checked now, applied once the data is known
  apply_space(probe, doc, cfg.space_file);
  return doc;
}

void write_text(const std::string& path, const std::string& text) {
  AtomicFile out(path);
  out.write(text.data(), text.size());
  out.commit();
}

}  // namespace

void TuneConfig::validate() const {
  if (output.empty()) throw ConfigError("an output model path is required (-o FILE)");
  if (output == "-") throw ConfigError("-o must name a file: tune prints its trials on stdout");
  if (config_out == "-") throw ConfigError("--config-out must name a file: tune prints its trials on stdout");
  if (!(std::isfinite(budget_seconds) && budget_seconds >= 0))
    throw ConfigError("budget must be a duration >= 0, got " + show(budget_seconds));
  if (trials == 0 && budget_seconds == 0)
    throw ConfigError("tune needs --trials N or --budget DURATION (or both)");
  if (trials > 1000000) throw ConfigError("trials must be <= 1000000, got " + std::to_string(trials));
  if (!(std::isfinite(validation_fraction) && validation_fraction > 0 && validation_fraction < 1))
    throw ConfigError("validation-fraction must be > 0 and < 1, got " + show(validation_fraction));
  if (threads > 4096)
    throw ConfigError("threads must be <= 4096 (0 = all cores), got " + std::to_string(threads));
  parse_metric(metric);
}

TuneReport run_tune(const TuneConfig& cfg) {
  const auto start = Clock::now();
  cfg.validate();
  const Metric metric = parse_metric(cfg.metric);
  const nlohmann::json space_doc = read_space(cfg);
  TuneReport rep;
  rep.metric = metric.name();
  rep.config_out = cfg.config_out.empty() ? cfg.output + ".toml" : cfg.config_out;
  std::vector<NamedPath> inputs{{"dataset", cfg.dataset}};
  if (!cfg.space_file.empty()) inputs.push_back({"--space", cfg.space_file});
  check_outputs(inputs, {{"-o", cfg.output}, {"--config-out", rep.config_out}});
  std::optional<OutputLock> model_lock(cfg.output);
  OutputLock config_lock(rep.config_out);
  {  // fail fast on a directory we cannot write
    AtomicFile model_probe(cfg.output), config_probe(rep.config_out);
  }

  const Dataset ds = Dataset::open(cfg.dataset);
  if (ds.nnz() == 0) throw InputError(cfg.dataset + ": dataset has no interactions to tune on");
  TrainSettings best;
  std::string comment;
  {
    SpillDir dir(cfg.tmp_dir.empty() ? default_tmp_dir() : cfg.tmp_dir);
    SplitConfig split;
    split.test_fraction = cfg.validation_fraction;
    split.by = cfg.by;
    split.seed = cfg.seed;
    const Validation val(ds, split, dir);
    SearchSpace space = default_space(val.facts());
    if (!cfg.space_file.empty()) apply_space(space, space_doc, cfg.space_file);
    const std::vector<uint32_t> rungs = space.rungs();

    TuneProgress progress(cfg, metric);
    TrialOptions opt;
    opt.metric = metric;
    opt.rungs = rungs;
    opt.seed = cfg.seed;
    opt.threads = cfg.threads;
    if (cfg.budget_seconds > 0)
      opt.deadline = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(cfg.budget_seconds));
    opt.check_candidates = kCandidates;
    opt.check_replicas = kReplicas;
    opt.on_evaluation = [&](const nlohmann::ordered_json& line) {
      if (cfg.on_evaluation) cfg.on_evaluation(line);
      progress.add(line);
    };
    TrialRunner runner(val, dir, opt);
    uint32_t round = 0;
    for (const Bracket& b : hyperband_round(uint32_t(rungs.size()))) round += b.configs;
    Proposer proposer(cfg.seed, round);
    const std::vector<Evaluation> history = run_search(
        uint32_t(rungs.size()), cfg.trials,
        [&](uint32_t trial, const std::vector<Evaluation>& done) {
          runner.add_trial(space.decode(proposer.propose(trial, done)));
        },
        [&](const std::vector<Job>& jobs) { return runner.run(jobs); });
    const std::optional<Choice> choice = final_check(
        history, kCandidates, kReplicas, [&](const std::vector<Job>& jobs) { return runner.run(jobs); });
    progress.finish();
    if (!choice)
      throw InputError(cfg.dataset + ": every trial diverged (" + std::to_string(history.size()) +
                       " evaluations); narrow the space to larger regularization (--space)");
    for (const Evaluation& e : history) rep.trials = std::max<uint64_t>(rep.trials, e.trial + uint64_t{1});
    rep.evaluations = history.size() + choice->checks.size();
    rep.budget_reached = runner.deadline_passed();
    rep.best_trial = choice->trial;
    rep.value = choice->mean;
    rep.seeds = choice->replicas + 1;
    best = settings_of(runner.values(choice->trial), val.facts(), rungs[choice->rung], cfg.seed);
    rep.parameters = parameters_json(best);
    comment = "vidrec tune: " + rep.metric + " " + show(rep.value) + " (mean of " +
              std::to_string(rep.seeds) + " seeds; trial " + std::to_string(rep.best_trial) + " of " +
              std::to_string(rep.trials) + ", " + std::to_string(rep.evaluations) + " evaluations, seed " +
              std::to_string(cfg.seed) + ")\non a validation split of " + cfg.dataset + " (by " +
              (cfg.by == SplitConfig::By::Time ? "time" : "random") + ", validation-fraction " +
              show(cfg.validation_fraction) + ")";
  }
  rep.search_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  write_text(rep.config_out, config_text(best, comment));

  TrainConfig train;
  train.dataset = cfg.dataset;
  train.output = cfg.output;
  train.als = best.als;
  train.als.threads = cfg.threads;
  train.weighting = best.weighting;
  train.progress = cfg.progress;
  train.tune = {
      {"metric", rep.metric},
      {"value", rep.value},
      {"seeds", rep.seeds},
      {"trial", rep.best_trial},
      {"trials", rep.trials},
      {"evaluations", rep.evaluations},
      {"seed", cfg.seed},
      {"validation",
       {{"by", cfg.by == SplitConfig::By::Time ? "time" : "random"}, {"fraction", cfg.validation_fraction}}}};
  model_lock.reset();  // run_train takes it again
  rep.train = run_train(train);
  return rep;
}

}  // namespace vidrec
