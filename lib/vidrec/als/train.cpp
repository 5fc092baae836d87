// SPDX-License-Identifier: MIT
#include "vidrec/als/train.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include "vidrec/als/distributed.hpp"
#include "vidrec/als/warm_start.hpp"
#include "vidrec/base/comm.hpp"
#include "vidrec/base/decimal.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/base/parallel.hpp"
#include "vidrec/base/progress.hpp"
#include "vidrec/io/paths.hpp"
#include "vidrec/model/indexing.hpp"
#include "vidrec/model/model.hpp"

namespace vidrec {

nlohmann::json hyperparameters_json(const AlsConfig& c, const Weighting& w) {
  nlohmann::json h{{"factors", c.factors},
                   {"iterations", c.iterations},
                   {"regularization", shortest_decimal(c.regularization)},
                   {"alpha", shortest_decimal(c.alpha)},
                   {"confidence", c.confidence == AlsConfig::Confidence::Linear ? "linear" : "log"},
                   {"epsilon", shortest_decimal(c.epsilon)},
                   {"solver", c.solver == AlsConfig::Solver::CG ? "cg" : "cholesky"},
                   {"cg_steps", c.cg_steps},
                   {"threads", resolve_threads(c.threads)},
                   {"seed", c.seed},
                   {"unobserved_weight", shortest_decimal(c.unobserved_weight)},
                   {"reg_exponent", shortest_decimal(c.reg_exponent)},
                   {"negative_weight", shortest_decimal(c.negative_weight)}};
  h["weighting"] = w.to_json();
  return h;
}

void read_hyperparameters(const nlohmann::json& h, AlsConfig& c, Weighting& w) {
  c.factors = h.value("factors", c.factors);
  c.iterations = h.value("iterations", c.iterations);
  c.regularization = h.value("regularization", c.regularization);
  c.alpha = h.value("alpha", c.alpha);
  c.confidence = h.value("confidence", std::string("linear")) == "log" ? AlsConfig::Confidence::Log
                                                                       : AlsConfig::Confidence::Linear;
  c.epsilon = h.value("epsilon", c.epsilon);
  c.solver = h.value("solver", std::string("cg")) == "cholesky" ? AlsConfig::Solver::Cholesky
                                                                : AlsConfig::Solver::CG;
  c.cg_steps = h.value("cg_steps", c.cg_steps);
  c.seed = h.value("seed", c.seed);
  c.unobserved_weight = h.value("unobserved_weight", c.unobserved_weight);
  c.reg_exponent = h.value("reg_exponent", c.reg_exponent);
  c.negative_weight = h.value("negative_weight", c.negative_weight);
  if (h.contains("weighting")) {
    const nlohmann::json& j = h["weighting"];
    w.scheme = parse_scheme(j.value("scheme", std::string("none")));
    w.k1 = j.value("k1", w.k1);
    w.b = j.value("b", w.b);
    w.half_life = j.value("half_life_seconds", w.half_life);
    if (j.contains("now")) w.now = j["now"].get<int64_t>();
  }
}

namespace {

// Writes the model: md holds the factors; its meta is filled here.
void write_trained(const Dataset& ds, const TrainConfig& cfg, const AlsConfig& als, const TrainStats& stats,
                   ModelData md, int ranks, const WeightingStats* weighting,
                   const nlohmann::json& warm = nullptr) {
  md.factors = als.factors;
  nlohmann::json training{{"iteration_seconds", stats.iteration_seconds}, {"loss", stats.loss}};
  if (ranks > 1) training["ranks"] = ranks;
  nlohmann::json hyper = hyperparameters_json(als, cfg.weighting);
  if (weighting)  // what fold-in needs to weight a history the same way
    hyper["weighting"]["stats"] = {
        {"users", weighting->users}, {"avg_len", weighting->avg_len}, {"now", weighting->now}};
  md.meta = {{"tool", "vidrec " VIDREC_VERSION},
             {"hyperparameters", hyper},
             {"dataset",
              {{"path", cfg.dataset},
               {"content_checksum", hex64(ds.content_checksum())},
               {"users", ds.n_users()},
               {"videos", ds.n_videos()},
               {"pairs", ds.nnz()}}},
             {"training", training}};
  if (!cfg.tune.is_null()) md.meta["tune"] = cfg.tune;
  if (!warm.is_null()) md.meta["warm_start"] = warm;
  if (cfg.ann.method == AnnMethod::Hnsw) {
    AnnParams params = cfg.ann;
    params.threads = als.threads;
    AnnIndex index = build_index(md.video_factors, als.factors, ds.n_videos(), params, cfg.progress);
    md.extra = std::move(index.sections);
    md.meta["ann"] = index.meta;
  }
  write_model(ds, md, cfg.output);
}

AlsProgress progress_printer(Progress& progress, uint32_t iterations) {
  return [&progress, iterations](uint32_t it, double secs, double loss) {
    char detail[128];
    if (std::isnan(loss))
      std::snprintf(detail, sizeof detail, "iteration %u/%u %.2fs", it, iterations, secs);
    else
      std::snprintf(detail, sizeof detail, "iteration %u/%u %.2fs loss %.6g", it, iterations, secs, loss);
    progress.update(it, detail, true);
  };
}

void check_output(const TrainConfig& cfg) {
  if (cfg.output.empty()) throw ConfigError("an output model path is required (-o FILE)");
  cfg.ann.validate();
  check_outputs({{"dataset", cfg.dataset}}, {{"-o", cfg.output}});
}

// The output's lock, taken before the dataset is read; fails fast when the
// directory is not writable.
void claim_output(const TrainConfig& cfg, std::optional<OutputLock>& lock) {
  lock.emplace(cfg.output);
  if (cfg.output != "-") AtomicFile probe(cfg.output);
}

Dataset open_dataset(const TrainConfig& cfg, Dataset::Verify verify) {
  Dataset ds = Dataset::open(cfg.dataset, verify);
  if (ds.nnz() == 0) throw InputError(cfg.dataset + ": dataset has no interactions to train on");
  return ds;
}

TrainReport report_of(const Dataset& ds) {
  TrainReport rep;
  rep.users = ds.n_users();
  rep.videos = ds.n_videos();
  rep.pairs = ds.nnz();
  return rep;
}

// Every rank maps the dataset and reads (and checks) only its own rows; rank
// 0 alone reads it all, locks, writes the model and reports progress.
TrainReport run_train_distributed(Comm& comm, const TrainConfig& cfg,
                                  std::chrono::steady_clock::time_point start) {
  const bool primary = comm.rank() == 0;
  AlsConfig als = cfg.als;
  if (als.threads == 0)  // the host's cores shared between its ranks
    als.threads = std::max(1u, resolve_threads(0) / unsigned(std::max(1, comm.local_size())));
  std::optional<OutputLock> lock;
  run_collectively(comm, [&] {
    als.validate();
    if (cfg.weighting.active())
      throw ConfigError(
          "--weighting and --half-life need the whole matrix on one process: not supported under mpirun yet");
    if (!cfg.init_from.empty()) throw ConfigError("--init-from is not supported under mpirun yet");
    check_output(cfg);
    if (primary) claim_output(cfg, lock);
  });
  Dataset ds;
  run_collectively(comm, [&] {
    // Rank 0 reads it all to write the model; the others only their rows.
    ds = open_dataset(cfg, primary ? Dataset::Verify::Full : Dataset::Verify::Lazy);
  });
  std::vector<uint64_t> sums(size_t(comm.size()));
  const uint64_t mine = ds.content_checksum();
  comm.allgather(&mine, sizeof mine, sums.data());
  run_collectively(comm, [&] {
    if (mine != sums[0])
      throw InputError(cfg.dataset + ": rank " + std::to_string(comm.rank()) + " reads other data (content " +
                       hex64(mine) + ") than rank 0 (" + hex64(sums[0]) +
                       "): every rank must see the same dataset file");
  });

  TrainReport rep = report_of(ds);
  rep.ranks = comm.size();
  rep.primary = primary;
  Progress progress("train", als.iterations, cfg.progress && primary);
  const DistributedResult result = train_als_distributed(
      comm, ds.user_items(), ds.item_users(), als, progress_printer(progress, als.iterations),
      [&ds](bool transpose, uint32_t begin, uint32_t end) { ds.check_rows(transpose, begin, end); });
  rep.stats = result.stats;
  ModelData md;
  run_collectively(comm, [&] {
    if (!primary) return send_user_factors(comm, result, md.user_chunk);
    UserFactorSource users(comm, result, md.user_chunk);
    try {
      md.user_chunks = [&users](uint32_t first, uint32_t count, float* out) {
        users.fill(first, count, out);
      };
      md.video_factors = result.item_factors.memptr();
      write_trained(ds, cfg, als, result.stats, md, comm.size(), nullptr);
    } catch (...) {
      users.drain();  // the other ranks are still sending
      throw;
    }
  });
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  progress.finish("");
  return rep;
}

}  // namespace

TrainReport run_train(const TrainConfig& cfg) {
  const auto start = std::chrono::steady_clock::now();
  if (Comm* const comm = launched_comm()) return run_train_distributed(*comm, cfg, start);
  cfg.als.validate();
  cfg.weighting.validate();
  check_output(cfg);
  std::optional<OutputLock> lock;
  claim_output(cfg, lock);
  const Dataset ds = open_dataset(cfg, Dataset::Verify::Full);
  TrainReport rep = report_of(ds);

  std::optional<WeightedMatrix> weighted;
  if (cfg.weighting.active())
    weighted = apply_weighting(ds.user_items(), ds.item_users(), ds.last_ts(), cfg.weighting);
  std::optional<WarmStart> warm;
  nlohmann::json warm_meta;
  if (!cfg.init_from.empty()) {
    const Model previous = Model::open(cfg.init_from, Model::Verify::Full);
    warm = warm_start(ds, previous, cfg.als, cfg.weighting);
    warm_meta = warm->to_json(previous);
  }
  Progress progress("train", cfg.als.iterations, cfg.progress);
  const AlsTrainResult result = train_als(
      weighted ? weighted->user_items : ds.user_items(), weighted ? weighted->item_users : ds.item_users(),
      cfg.als, progress_printer(progress, cfg.als.iterations), warm ? &warm->factors : nullptr);
  warm.reset();
  rep.stats = result.stats;
  ModelData md;
  md.user_factors = result.factors.user_factors.memptr();
  md.video_factors = result.factors.item_factors.memptr();
  if (weighted) md.seen_weights = weighted->user_values.data();
  write_trained(ds, cfg, cfg.als, result.stats, md, 1, weighted ? &weighted->stats : nullptr, warm_meta);
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  progress.finish("");
  return rep;
}

}  // namespace vidrec
