// SPDX-License-Identifier: MIT
// The layout in which the model file stores the video factors for scoring
// (recommend/scoring.hpp streams it), so a mapped model is scored in place.
#pragma once
#include <cstdint>
#include <vector>

namespace vidrec {

// Videos per panel tile: the scoring kernels' vector width.
constexpr uint32_t kPanelLanes = 16;

// Video factors in factor-major layout, as the kernel streams them: element
// (k, v) at data[k * stride + v]; stride is n rounded up to 16 and the padding
// is zero. `scale`, when set, multiplies each video's score (stride floats),
// e.g. inverse norms for cosine similarity.
struct VideoPanel {
  const float* data = nullptr;
  const float* scale = nullptr;
  uint32_t n = 0, stride = 0, factors = 0;
};

uint32_t panel_stride(uint32_t n_videos);
// Builds the panel of video factors given one video per column (f x n).
std::vector<float> make_panel(const float* factors, uint32_t f, uint32_t n);

}  // namespace vidrec
