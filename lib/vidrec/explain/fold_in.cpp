// SPDX-License-Identifier: MIT
#include "vidrec/explain/fold_in.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "vidrec/als/train.hpp"
#include "vidrec/base/errors.hpp"

namespace vidrec {

namespace {

void read_config(const Model& m, FoldIn& fi) {
  AlsConfig& c = fi.als;
  const nlohmann::json& meta = m.meta();
  try {
    if (meta.contains("hyperparameters")) {
      const nlohmann::json& h = meta["hyperparameters"];
      read_hyperparameters(h, c, fi.weighting);
      if (h.contains("weighting") && h["weighting"].contains("stats")) {
        const nlohmann::json& st = h["weighting"]["stats"];
        fi.stats.users = st.at("users").get<uint64_t>();
        fi.stats.avg_len = st.at("avg_len").get<double>();
        fi.stats.now = st.at("now").get<int64_t>();
      }
    }
    c.factors = m.factors();
    c.solver = AlsConfig::Solver::Cholesky;  // one row per request: the exact solve is cheap
    c.threads = 1;
    c.validate();
    fi.weighting.validate();
  } catch (const std::exception& e) {  // ConfigError, or JSON of the wrong type
    throw FormatError(m.path() + ": unusable hyperparameters in the model: " + e.what());
  }
}

// alpha0 Y Y^T (+ lambda I when lambda is the same for every user) in
// double, a slice of videos at a time (no double copy of a large model).
arma::mat gram_double(const Model& m, const AlsConfig& cfg) {
  // The video factors viewed in place in the mapped file.
  const arma::fmat Y(const_cast<float*>(m.video_factors()), m.factors(), m.n_videos(), false, true);
  arma::mat G(m.factors(), m.factors(), arma::fill::zeros);
  constexpr arma::uword kSlice = 4096;
  for (arma::uword n0 = 0; n0 < Y.n_cols; n0 += kSlice) {
    const arma::mat y =
        arma::conv_to<arma::mat>::from(Y.cols(n0, std::min<arma::uword>(n0 + kSlice, Y.n_cols) - 1));
    G += y * y.t();
  }
  G *= double(cfg.unobserved_weight);
  if (cfg.reg_exponent == 0.0f) G.diag() += double(cfg.regularization);
  return G;
}

}  // namespace

FoldIn FoldIn::of(const Model& m) {
  FoldIn fi;
  read_config(m, fi);
  fi.gram = gram_double(m, fi.als);
  return fi;
}

std::vector<double> weigh_history(const Model& m, const FoldIn& fi, const std::vector<uint32_t>& videos,
                                  const std::vector<double>& weights) {
  if (fi.weighting.scheme == Weighting::Scheme::None) return weights;
  const uint32_t* popularity = m.popularity();
  double length = 0;  // BM25's document length: the history's positive weight
  for (const double w : weights)
    if (w > 0) length += w;
  std::vector<double> out(weights.size());
  for (size_t j = 0; j < weights.size(); ++j)
    out[j] = weight_fold_in(weights[j], fi.weighting, fi.stats, popularity[videos[j]], length);
  return out;
}

UserSystem user_system(const Model& m, const FoldIn& fi, const uint32_t* videos, const double* weights,
                       size_t n) {
  // In double: in float, rounding of (c - alpha0) y y^T (c * 6e-8) swamps
  // G's smallest eigenvalue for large c, and the solve turned to NaN.
  const uint32_t f = m.factors();
  const float* Y = m.video_factors();
  const AlsConfig& als = fi.als;
  UserSystem s;
  s.A = fi.gram;
  s.b.zeros(f);
  constexpr size_t kSlice = 256;  // entries per rank-n update
  arma::mat plus(f, kSlice), minus(f, kSlice);
  size_t n_plus = 0, n_minus = 0;
  auto flush = [&](arma::mat& slice, size_t& count, double sign) {
    if (count > 0) s.A += sign * (slice.head_cols(count) * slice.head_cols(count).t());
    count = 0;
  };
  const double a0 = als.unobserved_weight;
  for (size_t j = 0; j < n; ++j) {
    const double w = weights[j];
    double extra = 0, target = 0;
    if (w > 0) {
      target = als.confidence_of(w);
      extra = target - a0;
      ++s.positives;
    } else if (w < 0 && als.negative_weight > 0) {
      extra = double(als.negative_weight) * (als.confidence_of(-w) - 1.0);
    } else {
      continue;
    }
    s.videos.push_back(videos[j]);
    s.target.push_back(target);
    const float* y = Y + size_t(videos[j]) * f;
    arma::mat& slice = extra >= 0 ? plus : minus;
    size_t& count = extra >= 0 ? n_plus : n_minus;
    const double root = std::sqrt(std::abs(extra));
    for (uint32_t a = 0; a < f; ++a) {
      slice(a, count) = root * y[a];
      s.b[a] += target * y[a];
    }
    if (++count == kSlice) flush(slice, count, extra >= 0 ? 1.0 : -1.0);
  }
  flush(plus, n_plus, 1.0);
  flush(minus, n_minus, -1.0);
  if (als.reg_exponent != 0.0f && s.positives > 0)
    s.A.diag() += als.row_regularization(s.positives, m.n_videos());
  return s;
}

arma::vec solve_user(const UserSystem& s) {
  arma::vec x;
  if (!arma::solve(x, s.A, s.b, arma::solve_opts::likely_sympd + arma::solve_opts::no_approx) ||
      !x.is_finite())
    throw std::runtime_error("fold-in: the history's least-squares system is singular");
  return x;
}

void history_row(std::vector<std::pair<uint32_t, double>> pairs, std::vector<uint32_t>& videos,
                 std::vector<double>& weights) {
  std::sort(pairs.begin(), pairs.end());
  videos.clear();
  weights.clear();  // double: float would overflow or round a sum of large values
  for (const auto& [v, w] : pairs) {
    if (!videos.empty() && videos.back() == v) {
      weights.back() += w;
    } else {
      videos.push_back(v);
      weights.push_back(w);
    }
  }
}

}  // namespace vidrec
