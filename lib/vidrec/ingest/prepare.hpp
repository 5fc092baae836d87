// SPDX-License-Identifier: MIT
// The `prepare` stage end to end: raw logs -> ingest -> features -> dataset
// file, with reject accounting and the figures cron jobs alert on.
//
// Contract
// - Inputs are read in order; "-" is stdin; no inputs means stdin.
// - Every malformed row is counted by reason and, with rejects_path, written
//   out; strict turns the first one into an InputError naming file and line.
// - The summary (counts, malformed_by_reason, pruning) is produced even when
//   the run then fails its thresholds, so monitoring sees why.
// - Outputs (-o, rejects, summary) must not name an input or each other, and
//   at most one may be stdout: a ConfigError before anything is opened.
// - One writer per output (OutputLock), side outputs included: a concurrent
//   prepare of the same output fails at once, touching nothing. The rejects
//   and summary are replaced atomically too, after the locks are taken.
// - threads > 1 (ingest_parallel.hpp): inputs read in chunks, parsed and
//   aggregated on that many threads, in min(threads, memory / 4M) shards by
//   user, each given an equal part of `memory`, closed together at the end
//   (spill.hpp): every output (dataset, rejects, summary, report, exception)
//   is byte for byte the one of threads = 1.
// - Aggregation stays within `memory`, spilling sorted runs under tmp_dir
//   when it must (spill.hpp); the files written are the same either way.
// - The dataset is written (atomically) only when the run succeeds: at least
//   one interaction survives and the reject rate is at most max_reject_rate.
//   A run without a valid row says why it thinks there is none (an empty
//   input, one field per line and the delimiter the lines hold, the rejects
//   by reason).
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "vidrec/ingest/features.hpp"
#include "vidrec/ingest/ingest.hpp"

namespace vidrec {

struct PrepareConfig {
  std::vector<std::string> inputs;  // empty = stdin
  std::string output;               // "-" = stdout
  std::string rejects_path;         // empty = do not write rejects
  std::string summary_json_path;    // empty = none
  bool strict = false;
  std::optional<double> max_reject_rate;
  std::map<std::string, double, std::less<>> type_weights;
  std::set<std::string, std::less<>> ignore_types;
  PruneOptions prune;
  uint64_t memory = 0;  // aggregation budget in bytes (spill.hpp); 0 = default_memory_budget()
  std::string tmp_dir;  // where runs spill; empty = default_tmp_dir()
  bool progress = true;
  Layout layout;          // --delimiter, --columns
  unsigned threads = 0;   // 0 = every CPU (base/cpus.hpp); 1 = one thread, no reader thread
  size_t chunk_bytes = size_t(1) << 22;  // what each thread parses at once (tests make it tiny)
  void validate() const;  // throws ConfigError
};

// Parses a --weight argument "TYPE=W" (W finite) into `cfg`; throws ConfigError.
void add_type_weight(PrepareConfig& cfg, const std::string& arg);

struct PrepareReport {
  IngestStats ingest;
  PruneStats prune;
  uint64_t users = 0, videos = 0, pairs = 0;  // in the written dataset
  double reject_rate = 0;
  bool written = false;
  uint64_t spill_runs = 0;  // runs aggregation wrote to disk (not in the summary: the same either way)
  nlohmann::json to_json() const;
  std::string to_text() const;
};

// Runs the stage. Throws InputError when thresholds fail (after writing the
// summary JSON), IoError/InputError from ingest.
PrepareReport run_prepare(const PrepareConfig& cfg);

}  // namespace vidrec
