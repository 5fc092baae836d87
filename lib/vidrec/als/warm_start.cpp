// SPDX-License-Identifier: MIT
#include "vidrec/als/warm_start.hpp"

#include <algorithm>
#include <string>

#include "vidrec/als/train.hpp"
#include "vidrec/base/decimal.hpp"
#include "vidrec/base/errors.hpp"

namespace vidrec {

namespace {

std::string text(float v) { return nlohmann::json(shortest_decimal(v)).dump(); }

void check_compatible(const Model& prev, const AlsConfig& cfg, const Weighting& w) {
  const std::string from = prev.path() + " (--init-from)";
  if (prev.factors() != cfg.factors)
    throw ConfigError(from + " has " + std::to_string(prev.factors()) + " factors, this training " +
                      std::to_string(cfg.factors) + ": they must match");
  const nlohmann::json& meta = prev.meta();
  if (!meta.contains("hyperparameters")) return;  // imported factors: nothing recorded to compare
  AlsConfig p;
  Weighting pw;
  try {
    read_hyperparameters(meta["hyperparameters"], p, pw);
  } catch (const std::exception& e) {
    throw FormatError(from + ": unusable hyperparameters: " + e.what());
  }
  const auto differ = [&](const char* name, const std::string& was, const std::string& now) {
    if (was != now)
      throw ConfigError(from + " was trained with " + name + " " + was + ", this training uses " + now +
                        ": warm start needs the same confidence settings (retrain from scratch instead)");
  };
  const auto conf = [](const AlsConfig& c) {
    return c.confidence == AlsConfig::Confidence::Log ? "log" : "linear";
  };
  const auto scheme = [](const Weighting& x) { return x.to_json().value("scheme", std::string("none")); };
  differ("--confidence", conf(p), conf(cfg));
  differ("--alpha", text(p.alpha), text(cfg.alpha));
  if (cfg.confidence == AlsConfig::Confidence::Log) differ("--epsilon", text(p.epsilon), text(cfg.epsilon));
  differ("--unobserved-weight", text(p.unobserved_weight), text(cfg.unobserved_weight));
  differ("--negative-weight", text(p.negative_weight), text(cfg.negative_weight));
  differ("--weighting", scheme(pw), scheme(w));
}

}  // namespace

WarmStart warm_start(const Dataset& ds, const Model& prev, const AlsConfig& cfg, const Weighting& w) {
  check_compatible(prev, cfg, w);
  WarmStart s;
  const uint32_t f = cfg.factors;
  arma::fmat& users = s.factors.user_factors;
  arma::fmat& items = s.factors.item_factors;
  users.set_size(f, ds.n_users());
  items.set_size(f, ds.n_videos());
  init_factors(users, cfg.seed, 0);
  init_factors(items, cfg.seed, uint64_t(ds.n_users()) * f);
  for (uint32_t u = 0; u < ds.n_users(); ++u)
    if (const auto p = prev.find_user(ds.user_id(u))) {
      std::copy_n(prev.user_vector(*p), f, users.colptr(u));
      ++s.users_kept;
    }
  for (uint32_t v = 0; v < ds.n_videos(); ++v)
    if (const auto p = prev.find_video(ds.video_id(v))) {
      std::copy_n(prev.video_vector(*p), f, items.colptr(v));
      ++s.videos_kept;
    }
  return s;
}

nlohmann::json WarmStart::to_json(const Model& previous) const {
  return {{"from", previous.path()},
          {"from_header_checksum", hex64(previous.header_checksum())},
          {"users_kept", users_kept},
          {"videos_kept", videos_kept}};
}

}  // namespace vidrec
