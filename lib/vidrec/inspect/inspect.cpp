// SPDX-License-Identifier: MIT
#include "vidrec/inspect/inspect.hpp"

#include <charconv>
#include <sstream>

#include "vidrec/base/errors.hpp"
#include "vidrec/ingest/ingest.hpp"
#include "vidrec/model/model.hpp"

namespace vidrec {

namespace {

std::string shortest(float v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// Ids and paths are bytes, not necessarily UTF-8 (files from before prepare
// rejected such ids; any path): dump() would throw after the work is done.
std::string json_text(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
}  // namespace

std::string csv_field(std::string_view s) {
  const bool needs =
      s.find_first_of(",\"\r\n") != std::string_view::npos ||
      (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.back() == ' ' || s.back() == '\t'));
  if (!needs) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

nlohmann::json describe_file(const std::string& path) {
  auto file = open_container_file(path);
  const std::string magic = sniff_magic(*file);
  if (magic == "VRDS") {
    const Dataset ds = Dataset::from_file(file);
    uint64_t events = 0;
    double weight = 0;
    int64_t t0 = INT64_MAX, t1 = INT64_MIN;
    const CsrView m = ds.user_items();
    for (uint64_t k = 0; k < ds.nnz(); ++k) {
      events += ds.events()[k];
      weight += m.values[k];
      t0 = std::min(t0, ds.first_ts()[k]);
      t1 = std::max(t1, ds.last_ts()[k]);
    }
    nlohmann::json j = {
        {"path", path},
        {"kind", "dataset"},
        {"format_version", ds.format_version()},
        {"file_bytes", ds.file_size()},
        {"content_checksum", hex64(ds.content_checksum())},
        {"users", ds.n_users()},
        {"videos", ds.n_videos()},
        {"locations", ds.n_locations()},
        {"pairs", ds.nnz()},
        {"events", events},
        {"weight_sum", weight},
        {"density",
         ds.n_users() && ds.n_videos() ? double(ds.nnz()) / (double(ds.n_users()) * ds.n_videos()) : 0.0},
        {"provenance", ds.provenance()},
    };
    if (ds.nnz()) {
      j["first_timestamp"] = format_timestamp(t0);
      j["last_timestamp"] = format_timestamp(t1);
    }
    return j;
  }
  if (magic == "VRMD") {
    const Model m = Model::from_file(file);
    nlohmann::json popular = nlohmann::json::array();
    for (uint32_t i = 0; i < std::min<uint32_t>(5, m.n_videos()); ++i)
      popular.push_back({{"videoId", m.video_id(m.popular(i))}, {"users", m.popularity()[m.popular(i)]}});
    return {
        {"path", path},
        {"kind", "model"},
        {"format_version", m.format_version()},
        {"file_bytes", m.file_size()},
        {"header_checksum", hex64(m.header_checksum())},
        {"factors_checksum", hex64(m.factors_checksum())},
        {"users", m.n_users()},
        {"videos", m.n_videos()},
        {"locations", m.n_locations()},
        {"factors", m.factors()},
        {"seen_pairs", m.seen_total()},
        {"most_popular", popular},
        {"meta", m.meta()},
    };
  }
  // Not a file we know: let the dataset reader name the problem precisely.
  (void)Dataset::from_file(file);
  throw FormatError(path + ": not a vidrec file");
}

std::string describe_text(const nlohmann::json& j) {
  std::ostringstream o;
  o << j["path"].get<std::string>() << ": vidrec " << j["kind"].get<std::string>() << ", format version "
    << j["format_version"] << ", " << j["file_bytes"] << " bytes";
  if (j["kind"] == "model") {
    o << ", factors checksum " << j["factors_checksum"].get<std::string>() << "\n";
    o << "  users " << j["users"] << ", videos " << j["videos"] << ", locations " << j["locations"]
      << ", factors " << j["factors"] << ", seen pairs " << j["seen_pairs"] << "\n";
    const auto& meta = j["meta"];
    if (meta.contains("hyperparameters"))
      o << "  hyperparameters " << json_text(meta["hyperparameters"]) << "\n";
    if (meta.contains("dataset")) o << "  dataset " << json_text(meta["dataset"]) << "\n";
    if (meta.contains("training")) {
      const auto& secs = meta["training"]["iteration_seconds"];
      double total = 0;
      for (const auto& s : secs) total += s.get<double>();
      o << "  training " << secs.size() << " iterations, " << total << " s";
      if (!meta["training"]["loss"].empty())
        o << ", final loss " << meta["training"]["loss"].back().get<double>();
      o << "\n";
    }
    if (meta.contains("ann")) o << "  ann index " << json_text(meta["ann"]) << "\n";
    o << "  most popular " << json_text(j["most_popular"]) << "\n";
    return o.str();
  }
  o << ", content checksum " << j["content_checksum"].get<std::string>() << "\n";
  if (j["kind"] == "dataset") {
    o << "  users " << j["users"] << ", videos " << j["videos"] << ", locations " << j["locations"]
      << ", pairs " << j["pairs"] << ", events " << j["events"] << ", density " << j["density"].get<double>()
      << "\n";
    o << "  weight sum " << j["weight_sum"].get<double>() << "\n";
    if (j.contains("first_timestamp"))
      o << "  time span " << j["first_timestamp"].get<std::string>() << " .. "
        << j["last_timestamp"].get<std::string>() << " UTC\n";
    const auto& p = j["provenance"];
    if (p.contains("inputs")) o << "  inputs " << json_text(p["inputs"]) << "\n";
    if (p.contains("options")) o << "  options " << json_text(p["options"]) << "\n";
    if (p.contains("counts"))
      o << "  rows valid " << p["counts"].value("rows_valid", 0) << ", malformed "
        << p["counts"].value("rows_malformed", 0) << " " << json_text(p["counts"]["malformed_by_reason"])
        << "\n";
  }
  return o.str();
}

void dump_pairs_csv(const Dataset& ds, std::ostream& out) {
  out << "userId,videoId,weight,events,first_ts,last_ts\n";
  const CsrView m = ds.user_items();
  for (uint32_t u = 0; u < ds.n_users(); ++u) {
    const std::string user = csv_field(ds.user_id(u));
    for (uint64_t k = m.row_begin(u); k < m.row_end(u); ++k)
      out << user << ',' << csv_field(ds.video_id(m.indices[k])) << ',' << shortest(m.values[k]) << ','
          << ds.events()[k] << ',' << format_timestamp(ds.first_ts()[k]) << ','
          << format_timestamp(ds.last_ts()[k]) << '\n';
  }
}

}  // namespace vidrec
