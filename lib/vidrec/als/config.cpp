// SPDX-License-Identifier: MIT
#include "vidrec/als/config.hpp"

#include <cmath>
#include <string>

#include "vidrec/base/errors.hpp"

namespace vidrec {

namespace {

std::string show(float v) {
  std::string s = std::to_string(v);
  // std::to_string pads to six decimals; trim "0.010000" to "0.01".
  if (s.find('.') != std::string::npos) {
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
  }
  return s;
}

void require(bool ok, const std::string& rule, const std::string& got) {
  if (!ok) throw ConfigError(rule + ", got " + got);
}

}  // namespace

void AlsConfig::validate() const {
  // Bounds keep the per-thread scratch (factors^2 floats) and run time sane.
  require(factors >= 1 && factors <= 4096, "factors must be between 1 and 4096", std::to_string(factors));
  require(iterations >= 1, "iterations must be >= 1", std::to_string(iterations));
  require(std::isfinite(regularization) && regularization >= 0.0f, "regularization must be finite and >= 0",
          show(regularization));
  require(std::isfinite(alpha) && alpha >= 0.0f, "alpha must be finite and >= 0", show(alpha));
  require(std::isfinite(epsilon) && epsilon > 0.0f, "epsilon must be finite and > 0", show(epsilon));
  require(cg_steps >= 1, "cg-steps must be >= 1", std::to_string(cg_steps));
  // alpha0 > 0 keeps every row's system positive definite without lambda.
  require(std::isfinite(unobserved_weight) && unobserved_weight > 0.0f && unobserved_weight <= 1e6f,
          "unobserved-weight must be finite, > 0 and <= 1e6", show(unobserved_weight));
  require(std::isfinite(reg_exponent) && reg_exponent >= 0.0f && reg_exponent <= 2.0f,
          "reg-exponent must be between 0 and 2", show(reg_exponent));
  require(std::isfinite(negative_weight) && negative_weight >= 0.0f,
          "negative-weight must be finite and >= 0", show(negative_weight));
  require(threads <= 4096, "threads must be <= 4096 (0 = all cores)", std::to_string(threads));
}

}  // namespace vidrec
