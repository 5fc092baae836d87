// SPDX-License-Identifier: MIT
// Times ALS training: median seconds per iteration at the given factors,
// threads and solver, plus peak memory. Each iteration also reports the
// process CPU seconds it used: on a shared machine, CPU / threads is a
// steadier figure than wall time.
//
// Input is a dataset file written by `vidrec prepare`, memory-mapped as
// `vidrec train` does:
//   als_bench interactions.vrd --factors 64 --threads 2 --solver cg --iterations 5
#include <sys/resource.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "vidrec/als/loop.hpp"
#include "vidrec/dataset/dataset.hpp"

namespace {

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Time ALS iterations"};
  std::string path;
  vidrec::AlsConfig cfg;
  cfg.iterations = 5;
  app.add_option("dataset", path, "dataset file (vidrec prepare)")->required();
  app.add_option("--factors", cfg.factors);
  app.add_option("--iterations", cfg.iterations);
  app.add_option("--threads", cfg.threads);
  app.add_option("--cg-steps", cfg.cg_steps);
  app.add_option("--regularization", cfg.regularization);
  app.add_option("--alpha", cfg.alpha);
  app.add_option("--solver", cfg.solver)
      ->transform(CLI::CheckedTransformer(std::map<std::string, vidrec::AlsConfig::Solver>{
          {"cg", vidrec::AlsConfig::Solver::CG}, {"cholesky", vidrec::AlsConfig::Solver::Cholesky}}));
  app.add_flag("--loss", cfg.compute_loss);
  CLI11_PARSE(app, argc, argv);

  const vidrec::Dataset ds = vidrec::Dataset::open(path);
  std::printf("users %u, videos %u, nnz %llu\n", ds.n_users(), ds.n_videos(),
              static_cast<unsigned long long>(ds.nnz()));
  std::vector<double> cpu;
  double cpu_before = cpu_seconds();
  const auto result =
      vidrec::train_als(ds.user_items(), ds.item_users(), cfg, [&](uint32_t it, double seconds, double loss) {
        const double now = cpu_seconds();
        cpu.push_back(now - cpu_before);
        cpu_before = now;
        std::printf("iteration %u: %.3f s, cpu %.3f s, loss %.6g\n", it, seconds, cpu.back(), loss);
        std::fflush(stdout);
      });
  std::vector<double> s = result.stats.iteration_seconds;
  std::sort(s.begin(), s.end());
  std::sort(cpu.begin(), cpu.end());
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  std::printf("median %.3f s/iteration, cpu %.3f s (factors %u, threads %u, %s), peak RSS %.0f MiB\n",
              s[s.size() / 2], cpu[cpu.size() / 2], cfg.factors, cfg.threads,
              cfg.solver == vidrec::AlsConfig::Solver::CG ? "cg" : "cholesky", double(ru.ru_maxrss) / 1024.0);
}
