// SPDX-License-Identifier: MIT
// `vidrec report`: one self-contained HTML page about a model -- what people
// look at before trusting it -- with the figures also embedded as JSON.
//
// Contract
// - The page needs nothing when opened: no script, no network; styles are
//   inlined and every chart is SVG written by svg.hpp. Every string from a
//   file (ids, paths, provenance, tune parameters) is HTML-escaped; the
//   embedded JSON (<script type="application/json" id="vidrec-data">) has
//   <, > and & as \u escapes, so no id can end the block.
// - The JSON holds: "model" = `vidrec inspect --json MODEL` exactly, and
//   "dataset" the same for --dataset (else null); "evaluation" (with --test):
//   "at" = the reports of `vidrec evaluate --json -k K` for K = 1..max_k, in
//   order, from one pass (evaluate_cutoffs), computed over every test user
//   when there are at most `sample_users` of them (so equal to evaluate's
//   output), else over that many chosen with `seed` ("sampled": true);
//   "catalog": coverage@10 and the long tail over a sample of model users;
//   "tune" (with --tune-log): the log's evaluations and the best one;
//   "samples": a few users' recent history beside their top 10.
// - Samples are chosen by a pass of selection sampling (Knuth's Algorithm S)
//   driven by SplitMix64(seed): the same inputs and seed give the same page
//   on any machine; the page says what was sampled and with which seed.
// - The long tail: the catalog ranked by popularity (Model::popular_order)
//   cut into kTailBins equal bins (one per video when fewer), head first; per bin its share of the
//   sampled users' interactions (their seen pairs) and of their top-10
//   recommendations (as `vidrec recommend` gives them, popular fallback
//   included).
// - The tune log is `vidrec tune`'s stdout: one JSON object per line; a line
//   that is not one, or lacks "parameters" or "value", is an InputError naming
//   the file and line. Evaluations with "value": null (diverged) are counted,
//   not plotted. The best is the highest value (every metric of tune is
//   higher-better), the first of equals.
// - Progress on stderr unless quiet; the output is written atomically under an
//   output lock ("-" = stdout); an output that names an input is a ConfigError.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace vidrec {

constexpr uint32_t kTailBins = 20;

struct ReportConfig {
  std::string model, test, tune_log, dataset;  // test, tune_log, dataset: optional ("")
  std::string output;                          // "-" = stdout
  uint32_t max_k = 50;                         // curves for k = 1..max_k (at most 254)
  uint32_t sample_users = 2000;                // users evaluated / recommended at most
  uint32_t sample_shown = 5;                   // users in the recommendations table
  uint64_t seed = 42;
  unsigned threads = 0;
  bool quiet = false;
  void validate() const;  // throws ConfigError
};

// Every figure of the page (the embedded JSON, see the contract).
nlohmann::json report_data(const ReportConfig& cfg);
// The page for report_data's JSON.
std::string render_html(const nlohmann::json& data);
// report_data, render_html, write. Returns the bytes written.
uint64_t run_report(const ReportConfig& cfg);

}  // namespace vidrec
