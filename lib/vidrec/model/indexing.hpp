// SPDX-License-Identifier: MIT
// Building a model's ANN index (ann.hpp): both graphs, inner product for
// recommend and cosine for similar, as model sections, at train time or
// afterwards (`vidrec index`).
//
// Contract
// - The sections and an "ann" object for the model's metadata: the
//   parameters, the build's seconds, the sections' bytes (the memory a
//   search holds: the graph is used in place in the mapped model file), the
//   threads and whether the build was deterministic (threads = 1).
// - index_model() rewrites a model with the index (replacing one it has),
//   atomically: `out` may be `in`, which is replaced in one step.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "vidrec/model/ann.hpp"

namespace vidrec {

struct AnnIndex {
  std::vector<std::pair<uint32_t, std::string>> sections;  // (tag, bytes)
  nlohmann::json meta;                                     // the metadata's "ann"
};

// Over n videos of f factors, contiguous per video; a progress bar on stderr
// when `progress`.
AnnIndex build_index(const float* video_factors, uint32_t f, uint32_t n, const AnnParams& params,
                     bool progress);

// Reads model `in`, writes it with a fresh index to `out`; returns the index's metadata.
nlohmann::json index_model(const std::string& in, const std::string& out, const AnnParams& params,
                           bool progress);

}  // namespace vidrec
