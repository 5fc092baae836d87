// SPDX-License-Identifier: MIT
#include "vidrec/recommend/approximate.hpp"

#include <algorithm>

namespace vidrec {

bool approximate_top_k(const Model& model, AnnSpace space, const float* query, const Exclusion& exclusion,
                       uint32_t k, uint32_t ef, std::vector<Scored>& out) {
  const AnnGraph* graph = model.ann(space);
  if (!graph) return false;
  const VideoPanel full = model.panel(space == AnnSpace::Cosine);
  std::vector<uint32_t> found =
      graph->search(query, model.video_factors(), full.scale, k, ef == 0 ? kDefaultEf : ef,
                    [&exclusion](uint32_t v) { return !exclusion.excludes(v); });
  if (found.size() < k) return false;
  // Ascending, so the exact kernel's ties (to the lower index) are the full answer's.
  std::sort(found.begin(), found.end());
  const uint32_t n = uint32_t(found.size()), f = model.factors();
  std::vector<float> gathered(uint64_t(n) * f), scale;
  for (uint32_t i = 0; i < n; ++i)
    std::copy_n(model.video_vector(found[i]), f, gathered.data() + uint64_t(i) * f);
  const std::vector<float> panel = make_panel(gathered.data(), f, n);
  VideoPanel p{panel.data(), nullptr, n, panel_stride(n), f};
  if (full.scale) {
    scale.assign(p.stride, 0.0f);
    for (uint32_t i = 0; i < n; ++i) scale[i] = full.scale[found[i]];
    p.scale = scale.data();
  }
  const Exclusion none;
  std::vector<Scored> top;
  top_k(p, &query, &none, 1, k, &top);
  for (Scored& s : top) s.video = found[s.video];
  out.swap(top);
  return true;
}

}  // namespace vidrec
