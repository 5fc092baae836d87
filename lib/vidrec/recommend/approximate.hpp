// SPDX-License-Identifier: MIT
// Top-k through the model's ANN index (model/ann.hpp), for recommend,
// similar and serve alike.
//
// Contract
// - The graph's candidates that the exclusion lets through are rescored
//   with the exact kernel (top_k), so scores and the order of ties are those
//   of the exact answer; when the candidates hold the exact top k (ef >= the
//   number of videos guarantees it) the answer is identical.
// - Exclusions are applied during the search (the filter), not after it, so
//   seen videos and --exclude/--only lists cost no recall.
// - Returns false, out untouched, when the model has no graph of that space
//   or the search found fewer than k allowed videos: the caller then scores
//   exactly, so an answer always has k videos when k exist.
#pragma once
#include <cstdint>
#include <vector>

#include "vidrec/model/model.hpp"
#include "vidrec/recommend/scoring.hpp"

namespace vidrec {

// `query`: a user's factors (InnerProduct) or a normalised video (Cosine);
// ef 0 = kDefaultEf.
bool approximate_top_k(const Model& model, AnnSpace space, const float* query, const Exclusion& exclusion,
                       uint32_t k, uint32_t ef, std::vector<Scored>& out);

}  // namespace vidrec
