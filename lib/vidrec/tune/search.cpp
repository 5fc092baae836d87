// SPDX-License-Identifier: MIT
#include "vidrec/tune/search.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

namespace vidrec {

namespace {

constexpr size_t kParents = 5;  // local moves start from one of the best 5
constexpr double kStep = 0.15;  // the largest move of a unit coordinate

// Higher value first, ties to the lower trial, failures (NaN) last.
bool better(const Evaluation& a, const Evaluation& b) {
  const bool fa = std::isnan(a.value), fb = std::isnan(b.value);
  if (fa != fb) return fb;
  if (!fa && a.value != b.value) return a.value > b.value;
  return a.trial < b.trial;
}

}  // namespace

std::vector<Bracket> hyperband_round(uint32_t rungs) {
  std::vector<Bracket> round;
  const uint64_t k = rungs - 1;
  for (uint32_t i = 0; i < rungs; ++i) {
    const uint64_t s = k - i;  // halvings left
    round.push_back({i, uint32_t(((k + 1) * (uint64_t{1} << s) + s) / (s + 1))});
  }
  return round;
}

std::vector<uint32_t> promote(const std::vector<Evaluation>& rung) {
  std::vector<Evaluation> sorted = rung;
  std::sort(sorted.begin(), sorted.end(), better);
  const size_t keep = std::max<size_t>(1, sorted.size() / 2);
  std::vector<uint32_t> kept;
  for (size_t i = 0; i < keep && i < sorted.size() && !std::isnan(sorted[i].value); ++i)
    kept.push_back(sorted[i].trial);
  return kept;
}

std::vector<Evaluation> ranked_trials(const std::vector<Evaluation>& history) {
  std::map<uint32_t, Evaluation> best;
  for (const Evaluation& e : history) {
    if (std::isnan(e.value)) continue;
    auto [it, fresh] = best.emplace(e.trial, e);
    if (!fresh && (e.value > it->second.value || (e.value == it->second.value && e.rung < it->second.rung)))
      it->second = e;
  }
  std::vector<Evaluation> ranked;
  for (const auto& [trial, e] : best) ranked.push_back(e);
  std::sort(ranked.begin(), ranked.end(), better);
  return ranked;
}

const Point& Proposer::propose(uint32_t trial, const std::vector<Evaluation>& history) {
  if (trial != points_.size()) throw std::logic_error("Proposer: trials out of order");
  Point u;
  const std::vector<Evaluation> top =
      trial >= round_size_ && trial % 2 == 1 ? ranked_trials(history) : std::vector<Evaluation>{};
  if (!top.empty()) {
    const Point& parent = points_[top[rng_.below(std::min(kParents, top.size()))].trial];
    for (size_t i = 0; i < kParams; ++i) {
      double x = parent[i] + kStep * (rng_.uniform() + rng_.uniform() - 1);
      if (x < 0) x = -x;
      if (x >= 1) x = 2 - x;
      u[i] = std::clamp(x, 0.0, std::nextafter(1.0, 0.0));
    }
  } else {
    for (double& x : u) x = rng_.uniform();
  }
  points_.push_back(u);
  return points_.back();
}

std::vector<Evaluation> run_search(uint32_t rungs, uint64_t max_trials, const ProposeFn& propose,
                                   const RunJobsFn& run_jobs) {
  std::vector<Evaluation> history;
  const std::vector<Bracket> round = hyperband_round(rungs);
  uint64_t started = 0;
  for (;;) {
    for (const Bracket& b : round) {
      uint64_t n = b.configs;
      if (max_trials > 0) n = std::min<uint64_t>(n, max_trials - started);
      if (n == 0) return history;
      std::vector<Job> jobs;
      for (uint64_t i = 0; i < n; ++i) {
        const uint32_t id = uint32_t(started + i);
        propose(id, history);
        jobs.push_back({id, -1, b.first_rung});
      }
      started += n;
      for (uint32_t rung = b.first_rung;; ++rung) {
        const std::vector<std::optional<double>> values = run_jobs(jobs);
        std::vector<Evaluation> level;
        for (size_t j = 0; j < jobs.size(); ++j) {
          if (!values[j]) continue;
          level.push_back({jobs[j].trial, rung, *values[j]});
          history.push_back(level.back());
        }
        if (level.size() < jobs.size()) return history;  // out of budget
        if (rung + 1 == rungs) break;
        const std::vector<uint32_t> kept = promote(level);
        if (kept.empty()) break;
        jobs.clear();
        for (uint32_t id : kept) jobs.push_back({id, int(rung), rung + 1});
      }
    }
  }
}

std::optional<Choice> final_check(const std::vector<Evaluation>& history, uint32_t candidates,
                                  uint32_t replicas, const RunJobsFn& run_jobs) {
  std::vector<Evaluation> top = ranked_trials(history);
  if (top.empty()) return std::nullopt;
  top.resize(std::min<size_t>(top.size(), candidates));

  Choice choice;
  std::vector<double> sums;
  for (const Evaluation& e : top) sums.push_back(e.value);
  for (uint32_t r = 1; r <= replicas; ++r) {
    std::vector<Job> jobs;
    for (const Evaluation& e : top) jobs.push_back({e.trial, -1, e.rung, r});
    const std::vector<std::optional<double>> values = run_jobs(jobs);
    bool complete = true;
    for (size_t i = 0; i < top.size(); ++i) {
      if (!values[i]) {
        complete = false;
        continue;
      }
      choice.checks.push_back({top[i].trial, top[i].rung, *values[i]});
    }
    if (!complete) break;
    for (size_t i = 0; i < top.size(); ++i) sums[i] += *values[i];  // NaN stays NaN: out
    choice.replicas = r;
  }
  std::vector<Evaluation> means;
  for (size_t i = 0; i < top.size(); ++i)
    means.push_back({top[i].trial, top[i].rung, sums[i] / (choice.replicas + 1)});
  Evaluation pick = *std::min_element(means.begin(), means.end(), better);
  if (std::isnan(pick.value)) {  // every candidate failed with some seed: the search's best stands
    pick = top[0];
    choice.replicas = 0;
  }
  choice.trial = pick.trial;
  choice.rung = pick.rung;
  choice.mean = pick.value;
  return choice;
}

}  // namespace vidrec
