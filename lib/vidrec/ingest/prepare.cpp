// SPDX-License-Identifier: MIT
#include "vidrec/ingest/prepare.hpp"

#include <algorithm>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <sstream>

#include "vidrec/base/cpus.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/ingest/ingest_parallel.hpp"
#include "vidrec/ingest/spill.hpp"
#include "vidrec/io/atomic_file.hpp"
#include "vidrec/io/paths.hpp"
#include "vidrec/io/spill_dir.hpp"

namespace vidrec {

void PrepareConfig::validate() const {
  if (output.empty()) throw ConfigError("an output dataset path is required (-o FILE)");
  if (max_reject_rate && !(*max_reject_rate >= 0.0 && *max_reject_rate <= 1.0))
    throw ConfigError("--max-reject-rate must be between 0 and 1, got " + std::to_string(*max_reject_rate));
  for (const auto& [type, w] : type_weights)
    if (ignore_types.count(type)) throw ConfigError("type '" + type + "' is both weighted and ignored");
  int stdin_uses = 0;
  for (const std::string& in : inputs) stdin_uses += in == "-";
  if (stdin_uses > 1) throw ConfigError("stdin ('-') can be read only once");
  if (threads > 256) throw ConfigError("--threads must be between 0 and 256, got " + std::to_string(threads));
  if (memory != 0 && memory < kMinMemory)
    throw ConfigError("--memory " + std::to_string(memory) + " bytes is below the minimum of " +
                      std::to_string(kMinMemory) + " (4M)");
}

void add_type_weight(PrepareConfig& cfg, const std::string& arg) {
  const auto eq = arg.rfind('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == arg.size())
    throw ConfigError("--weight takes TYPE=W (e.g. like=2), got '" + arg + "'");
  const std::string type = arg.substr(0, eq), num = arg.substr(eq + 1);
  double w = 0;
  auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), w);
  // Weights are stored as float32: W beyond its range would be stored as inf.
  if (ec != std::errc() || end != num.data() + num.size() || !(std::fabs(w) <= double(FLT_MAX)))
    throw ConfigError("--weight " + arg +
                      ": W must be a finite number within float32's range (|W| <= 3.4e38)");
  cfg.type_weights[type] = w;
}

nlohmann::json PrepareReport::to_json() const {
  nlohmann::json reasons = nlohmann::json::object();
  for (size_t i = 0; i < kRejectKinds; ++i) reasons[reject_code(Reject(i))] = ingest.rejected[i];
  return {
      {"status", written ? "ok" : "failed"},
      {"lines", ingest.lines},
      {"blank_lines", ingest.blank_lines},
      {"header_lines", ingest.header_lines},
      {"rows_valid", ingest.rows_valid},
      {"rows_ignored", ingest.rows_ignored},
      {"rows_malformed", ingest.rows_malformed()},
      {"malformed_by_reason", reasons},
      {"reject_rate", reject_rate},
      {"bytes_read", ingest.bytes},
      {"users", users},
      {"videos", videos},
      {"pairs", pairs},
      // Integral sums print as integers, as the logs' values usually are.
      {"value_sum",
       std::nearbyint(ingest.value_sum) == ingest.value_sum && std::fabs(ingest.value_sum) < 0x1p53
           ? nlohmann::json(int64_t(ingest.value_sum))
           : nlohmann::json(ingest.value_sum)},
      {"pruned",
       {{"rounds", prune.rounds},
        {"users", prune.users_removed},
        {"videos", prune.videos_removed},
        {"pairs", prune.pairs_removed},
        {"events", prune.events_removed}}},
      {"weight_overflow", {{"pairs", prune.overflow_pairs}, {"events", prune.overflow_events}}},
  };
}

std::string PrepareReport::to_text() const {
  std::ostringstream o;
  o << "rows: " << ingest.rows_valid << " valid";
  if (ingest.rows_ignored) o << " (" << ingest.rows_ignored << " ignored by type)";
  o << ", " << ingest.rows_malformed() << " malformed";
  if (ingest.rows_malformed()) {
    o << " (";
    const char* sep = "";
    for (size_t i = 0; i < kRejectKinds; ++i)
      if (ingest.rejected[i]) {
        o << sep << reject_code(Reject(i)) << ' ' << ingest.rejected[i];
        sep = ", ";
      }
    o << ")";
  }
  o << "; " << ingest.header_lines << " header, " << ingest.blank_lines << " blank lines\n";
  if (prune.users_removed || prune.videos_removed)
    o << "pruned: " << prune.users_removed << " users, " << prune.videos_removed << " videos, "
      << prune.pairs_removed << " pairs (" << prune.events_removed << " events) in " << prune.rounds
      << " rounds\n";
  if (prune.overflow_pairs)
    o << "weight overflow: " << prune.overflow_pairs << " pairs (" << prune.overflow_events
      << " events) dropped, their summed weight beyond float32's range\n";
  char sum[64];
  std::snprintf(sum, sizeof sum, "%.17g", ingest.value_sum);
  o << "dataset: " << users << " users, " << videos << " videos, " << pairs << " pairs, value sum " << sum;
  return o.str();
}

namespace {

// Why a run found no valid row, as far as the counts tell.
std::string no_rows_reason(const IngestStats& st) {
  const uint64_t malformed = st.rows_malformed();
  std::string why = "no valid interaction rows in the input: ";
  if (malformed == 0) return why + (st.header_lines ? "a header and no rows" : "it is empty");
  if (st.one_field_lines == malformed) {
    why += "every line has 1 field";
    if (st.other_delimiter)
      why += std::string(": is it ") +
             (st.other_delimiter == '\t'  ? "tab"
              : st.other_delimiter == ';' ? "semicolon"
              : st.other_delimiter == '|' ? "pipe"
                                          : "comma") +
             "-separated? (--delimiter " + delimiter_name(st.other_delimiter) + ")";
    return why;
  }
  why += "all " + std::to_string(malformed) + " rejected (";
  const char* sep = "";
  for (size_t i = 0; i < kRejectKinds; ++i)
    if (st.rejected[i]) {
      why += sep + std::string(reject_code(Reject(i))) + " " + std::to_string(st.rejected[i]);
      sep = ", ";
    }
  return why + "; --rejects FILE lists them)";
}

}  // namespace

PrepareReport run_prepare(const PrepareConfig& cfg) {
  cfg.validate();
  const std::vector<std::string> inputs = cfg.inputs.empty() ? std::vector<std::string>{"-"} : cfg.inputs;
  // Usage errors first, before any file is opened for writing: an output that
  // names an input (--rejects raw.csv) would be truncated before it is read.
  std::vector<NamedPath> ins, outs{{"-o", cfg.output}};
  for (const std::string& in : inputs) ins.push_back({"input", in});
  if (!cfg.rejects_path.empty()) outs.push_back({"--rejects", cfg.rejects_path});
  if (!cfg.summary_json_path.empty()) outs.push_back({"--summary-json", cfg.summary_json_path});
  check_outputs(ins, outs);

  // Fail fast: a concurrent writer or an unwritable directory is found before
  // the long read. Every output, side outputs too, has one writer at a time
  // and is replaced atomically, so a refused run touches nothing.
  std::vector<std::unique_ptr<OutputLock>> locks;
  for (const NamedPath& o : outs) {
    locks.push_back(std::make_unique<OutputLock>(o.path));
    if (o.path != "-") AtomicFile probe(o.path);
  }
  PrepareReport rep;
  IngestOptions opt;
  opt.type_weights = cfg.type_weights;
  opt.ignore_types = cfg.ignore_types;
  opt.strict = cfg.strict;
  opt.progress = cfg.progress;
  opt.layout = cfg.layout;
  // Streamed to the temporary through AtomicFile's buffer: the rejects of a
  // huge dirty log are not held in memory.
  std::optional<AtomicFile> rejects_file;
  std::optional<AtomicOstream> rejects;
  if (!cfg.rejects_path.empty()) {
    rejects_file.emplace(cfg.rejects_path);
    rejects.emplace(*rejects_file);
    opt.rejects = &*rejects;
  }

  // Shards hold disjoint users; each has at least the minimum budget.
  const unsigned threads = cfg.threads ? cfg.threads : available_cpus();
  const uint64_t memory = cfg.memory ? cfg.memory : default_memory_budget();
  const size_t n_shards = size_t(std::clamp<uint64_t>(memory / kMinMemory, 1, threads));
  std::vector<std::unique_ptr<SpillingAggregator>> shards = SpillingAggregator::shards(
      {memory, cfg.tmp_dir.empty() ? default_tmp_dir() : cfg.tmp_dir, cfg.progress}, n_shards);
  SpillingAggregator& agg = *shards[0];
  if (threads == 1) {
    for (const std::string& in : inputs) ingest_file(in, opt, agg, rep.ingest);
  } else {
    std::vector<KeyedSink*> sinks;
    for (const auto& s : shards) sinks.push_back(s.get());
    ingest_parallel(inputs, opt, sinks, {threads, cfg.chunk_bytes}, rep.ingest);
  }
  // Published even when the run then fails its thresholds: they explain why.
  if (rejects) {
    rejects->flush();
    rejects_file->commit();
  }

  std::vector<SpillingAggregator*> others;
  for (size_t i = 1; i < n_shards; ++i) others.push_back(shards[i].get());
  const Aggregator::Shape& shape = agg.close(cfg.prune, rep.prune, others);
  rep.spill_runs = agg.runs();
  rep.users = shape.user_ids.size();
  rep.videos = shape.video_ids.size();
  rep.pairs = shape.indptr.back();
  const uint64_t rows = rep.ingest.rows_valid + rep.ingest.rows_malformed();
  rep.reject_rate = rows ? double(rep.ingest.rows_malformed()) / double(rows) : 0.0;

  std::string failure;
  if (cfg.max_reject_rate && rep.reject_rate > *cfg.max_reject_rate) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%llu of %llu rows malformed (%.4g%%), above --max-reject-rate %g",
                  static_cast<unsigned long long>(rep.ingest.rows_malformed()),
                  static_cast<unsigned long long>(rows), rep.reject_rate * 100, *cfg.max_reject_rate);
    failure = buf;
  } else if (rep.pairs == 0) {
    failure = rep.ingest.rows_valid ? "no interactions left after --ignore-type, pruning and weight overflow"
                                    : no_rows_reason(rep.ingest);
  }
  if (failure.empty()) {
    nlohmann::json provenance = {
        {"tool", "vidrec " VIDREC_VERSION},
        {"inputs", inputs},
        {"options",
         {{"weights", cfg.type_weights},
          {"ignore_types", cfg.ignore_types},
          {"min_user_events", cfg.prune.min_user_events},
          {"min_video_events", cfg.prune.min_video_events}}},
    };
    rep.written = true;  // set before to_json so provenance records success
    provenance["counts"] = rep.to_json();
    // Streamed: the entries go from the aggregate to the file a block at a time.
    DatasetWriter out(cfg.output, shape.user_ids, shape.video_ids, shape.indptr, shape.video_counts,
                      provenance, shape.locations);
    // With a second thread, the writer takes each block while the next is sorted.
    agg.emit([&out](const EntryBlock& b) { out.append(b); }, threads > 1);
    out.commit();
  }
  if (!cfg.summary_json_path.empty()) {
    AtomicFile out(cfg.summary_json_path);
    const std::string text =
        rep.to_json().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    out.write(text.data(), text.size());
    out.commit();
  }
  if (!failure.empty()) throw InputError(failure + "; dataset not written");
  return rep;
}

}  // namespace vidrec
