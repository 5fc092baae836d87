// SPDX-License-Identifier: MIT
#include "vidrec/als/train.hpp"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "vidrec/base/errors.hpp"
#include "vidrec/io/paths.hpp"
#include "vidrec/model/model.hpp"
#include "vidrec/base/parallel.hpp"
#include "vidrec/base/progress.hpp"

namespace vidrec {

namespace {
// The float's shortest decimal form: 0.01f is written as 0.01, not 0.0099999998.
double decimal(float v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::strtod(std::string(buf, r.ptr).c_str(), nullptr);
}

nlohmann::json config_json(const AlsConfig& c) {
  return {{"factors", c.factors},
          {"iterations", c.iterations},
          {"regularization", decimal(c.regularization)},
          {"alpha", decimal(c.alpha)},
          {"confidence", c.confidence == AlsConfig::Confidence::Linear ? "linear" : "log"},
          {"epsilon", decimal(c.epsilon)},
          {"solver", c.solver == AlsConfig::Solver::CG ? "cg" : "cholesky"},
          {"cg_steps", c.cg_steps},
          {"threads", resolve_threads(c.threads)},
          {"seed", c.seed}};
}

}  // namespace

TrainReport run_train(const TrainConfig& cfg) {
  const auto start = std::chrono::steady_clock::now();
  cfg.als.validate();
  if (cfg.output.empty()) throw ConfigError("an output model path is required (-o FILE)");
  check_outputs({{"dataset", cfg.dataset}}, {{"-o", cfg.output}});
  OutputLock lock(cfg.output);
  if (cfg.output != "-") AtomicFile probe(cfg.output);  // fail fast when the directory is not writable

  const Dataset ds = Dataset::open(cfg.dataset);
  if (ds.nnz() == 0) throw InputError(cfg.dataset + ": dataset has no interactions to train on");
  TrainReport rep;
  rep.users = ds.n_users();
  rep.videos = ds.n_videos();
  rep.pairs = ds.nnz();

  Progress progress("train", cfg.als.iterations, cfg.progress);
  const AlsTrainResult result =
      train_als(ds.user_items(), ds.item_users(), cfg.als, [&](uint32_t it, double secs, double loss) {
        char detail[128];
        if (std::isnan(loss))
          std::snprintf(detail, sizeof detail, "iteration %u/%u %.2fs", it, cfg.als.iterations, secs);
        else
          std::snprintf(detail, sizeof detail, "iteration %u/%u %.2fs loss %.6g", it, cfg.als.iterations,
                        secs, loss);
        progress.update(it, detail, true);
      });
  rep.stats = result.stats;

  ModelData md;
  md.factors = cfg.als.factors;
  md.user_factors = result.factors.user_factors.memptr();
  md.video_factors = result.factors.item_factors.memptr();
  md.meta = {{"tool", "vidrec " VIDREC_VERSION},
             {"hyperparameters", config_json(cfg.als)},
             {"dataset",
              {{"path", cfg.dataset},
               {"content_checksum", hex64(ds.content_checksum())},
               {"users", ds.n_users()},
               {"videos", ds.n_videos()},
               {"pairs", ds.nnz()}}},
             {"training", {{"iteration_seconds", rep.stats.iteration_seconds}, {"loss", rep.stats.loss}}}};
  write_model(ds, md, cfg.output);
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  progress.finish("");
  return rep;
}

}  // namespace vidrec
