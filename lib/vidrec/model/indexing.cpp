// SPDX-License-Identifier: MIT
#include "vidrec/model/indexing.hpp"

#include <chrono>
#include <cstdio>

#include "vidrec/base/parallel.hpp"
#include "vidrec/base/progress.hpp"
#include "vidrec/model/model.hpp"

namespace vidrec {

AnnIndex build_index(const float* y, uint32_t f, uint32_t n, const AnnParams& params, bool progress) {
  params.validate();
  const auto start = std::chrono::steady_clock::now();
  Progress bar("index", 2 * uint64_t(n), progress);
  AnnIndex out;
  uint64_t bytes = 0;
  for (const AnnSpace space : {AnnSpace::InnerProduct, AnnSpace::Cosine}) {
    const uint64_t before = space == AnnSpace::Cosine ? n : 0;
    const char* what = space == AnnSpace::Cosine ? "cosine graph" : "inner-product graph";
    std::string graph =
        build_ann(y, f, n, space, params, [&](uint64_t done) { bar.update(before + done, what); });
    bytes += graph.size();
    out.sections.emplace_back(space == AnnSpace::Cosine ? section::kAnnCosine : section::kAnnInnerProduct,
                              std::move(graph));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const unsigned threads = resolve_threads(params.threads);
  char summary[160];
  std::snprintf(summary, sizeof summary, "%u videos, %s, %.2f s, %u threads", n,
                human_bytes(double(bytes)).c_str(), seconds, threads);
  bar.finish(summary);
  out.meta = {{"method", "hnsw"},         {"m", params.m},      {"ef_construction", params.ef_construction},
              {"seed", params.seed},      {"threads", threads}, {"deterministic", threads == 1},
              {"build_seconds", seconds}, {"bytes", bytes}};
  return out;
}

nlohmann::json index_model(const std::string& in, const std::string& out, const AnnParams& params,
                           bool progress) {
  const Model m = Model::open(in, Model::Verify::Full);
  AnnIndex index = build_index(m.video_factors(), m.factors(), m.n_videos(), params, progress);
  nlohmann::json meta = m.meta();
  meta["ann"] = index.meta;
  m.rewrite(out, meta, index.sections);
  return index.meta;
}

}  // namespace vidrec
