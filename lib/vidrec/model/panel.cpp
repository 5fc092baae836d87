// SPDX-License-Identifier: MIT
#include "vidrec/model/panel.hpp"

namespace vidrec {

uint32_t panel_stride(uint32_t n) { return (n + kPanelLanes - 1) / kPanelLanes * kPanelLanes; }

std::vector<float> make_panel(const float* factors, uint32_t f, uint32_t n) {
  const uint32_t stride = panel_stride(n);
  std::vector<float> panel(uint64_t(f) * stride, 0.0f);
  for (uint32_t v = 0; v < n; ++v)
    for (uint32_t k = 0; k < f; ++k) panel[uint64_t(k) * stride + v] = factors[uint64_t(v) * f + k];
  return panel;
}

}  // namespace vidrec
