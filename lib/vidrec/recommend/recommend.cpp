// SPDX-License-Identifier: MIT
#include "vidrec/recommend/recommend.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "vidrec/base/errors.hpp"
#include "vidrec/base/parallel.hpp"
#include "vidrec/io/paths.hpp"
#include "vidrec/recommend/approximate.hpp"
// fccp reads the small id-list files (CRLF, BOM, a last line without newline).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-truncation"
#include <libfccp/csv.h>
#pragma GCC diagnostic pop

namespace vidrec {

void RecommendOptions::validate() const {
  if (k < 1) throw ConfigError("-k must be >= 1, got " + std::to_string(k));
  if (ef > kMaxEf)
    throw ConfigError("--ef must be <= " + std::to_string(kMaxEf) + ", got " + std::to_string(ef));
}

Recommender::Recommender(const Model& model, RecommendOptions options)
    : model_(model), opt_(std::move(options)) {
  opt_.validate();
  if (!opt_.blocked.empty() && opt_.blocked.size() != model.n_videos())
    throw std::invalid_argument("Recommender: blocked map size differs from the model's videos");
  if (!opt_.location.empty()) location_ = model.find_location(opt_.location).value_or(kNoLocation);
  Exclusion blocked;
  blocked.blocked = opt_.blocked.empty() ? nullptr : opt_.blocked.data();
  popular_ = popular(location_, blocked);
}

std::vector<Scored> Recommender::popular(uint32_t location, const Exclusion& excluded) const {
  std::vector<Scored> out;
  std::vector<uint32_t> taken;  // sorted: the padding must not repeat them
  if (location != kNoLocation) {
    const LocationPopular p = model_.location_popular(location);
    const double users = std::max<uint32_t>(1, p.location_users);
    for (uint32_t i = 0; i < p.count && out.size() < opt_.k; ++i)
      if (!excluded.excludes(p.videos[i])) out.push_back({p.videos[i], float(p.users[i] / users)});
    for (const Scored& s : out) taken.push_back(s.video);
    std::sort(taken.begin(), taken.end());
  }
  const double users = std::max<uint32_t>(1, model_.n_users());
  for (uint32_t i = 0; i < model_.n_videos() && out.size() < opt_.k; ++i) {
    const uint32_t v = model_.popular(i);
    if (!excluded.excludes(v) && !std::binary_search(taken.begin(), taken.end(), v))
      out.push_back({v, location != kNoLocation ? 0.0f : float(model_.popularity()[v] / users)});
  }
  return out;
}

bool Recommender::fallback(std::optional<uint32_t> user, Recommendations& r) const {
  if (user && model_.has_profile(*user)) return false;
  r.source = Source::Popular;
  uint32_t location = location_;
  if (!user) {
    r.items = popular_;
  } else {
    if (opt_.location.empty()) location = model_.user_location(*user);
    r.items = popular(location, exclusion(*user));
  }
  if (location != kNoLocation) r.location = model_.location_id(location);
  return true;
}

Exclusion Recommender::exclusion(uint32_t user) const {
  Exclusion e;
  e.blocked = opt_.blocked.empty() ? nullptr : opt_.blocked.data();
  if (!opt_.include_seen) std::tie(e.seen_begin, e.seen_end) = model_.seen(user);
  return e;
}

namespace {
constexpr uint64_t kParallelFloats = uint64_t(1)
                                     << 20;  // 4 MiB of panel: below, threads cost more than they save
}  // namespace

Recommendations Recommender::for_user(std::string_view user_id) const {
  Recommendations r;
  r.id = user_id;
  const auto u = model_.find_user(user_id);
  if (fallback(u, r)) return r;
  if (approximate(*u, r.items)) return r;
  // One interactive request: worth both cores once the catalogue is large.
  const VideoPanel panel = model_.panel();
  const bool split = uint64_t(panel.stride) * panel.factors >= kParallelFloats;
  r.items = top_k_parallel(panel, model_.user_vector(*u), exclusion(*u), opt_.k, split ? opt_.threads : 1);
  return r;
}

void Recommender::for_users(const std::vector<std::string_view>& ids, unsigned threads,
                            const std::function<void(const Recommendations&)>& sink,
                            const std::function<void(size_t)>& progress) const {
  // Windows of users are scored in parallel, then written in order, so
  // memory stays bounded however many users are asked for.
  constexpr size_t kWindow = 16384, kChunk = 256;
  std::vector<Recommendations> window;
  for (size_t start = 0; start < ids.size(); start += kWindow) {
    const size_t n = std::min(kWindow, ids.size() - start);
    window.assign(n, {});
    parallel_for(
        n, threads,
        [&](uint64_t b, uint64_t e, unsigned) {
          std::vector<uint32_t> users;
          std::vector<size_t> slots;
          std::vector<std::vector<Scored>> out;
          for (uint64_t i = b; i < e; ++i) {
            Recommendations& r = window[i];
            r.id = ids[start + i];
            const auto u = model_.find_user(r.id);
            if (fallback(u, r) || approximate(*u, r.items)) continue;
            users.push_back(*u);
            slots.push_back(i);
          }
          out.resize(users.size());
          rank(users.data(), users.size(), out.data());
          for (size_t j = 0; j < slots.size(); ++j) window[slots[j]].items.swap(out[j]);
        },
        kChunk);
    for (const Recommendations& r : window) sink(r);
    if (progress) progress(start + n);
  }
}

bool Recommender::approximate(uint32_t user, std::vector<Scored>& out) const {
  return !opt_.exact && approximate_top_k(model_, AnnSpace::InnerProduct, model_.user_vector(user),
                                          exclusion(user), opt_.k, opt_.ef, out);
}

void Recommender::rank(const uint32_t* users, size_t count, std::vector<Scored>* out,
                       float* const* scores) const {
  std::vector<const float*> queries(count);
  std::vector<Exclusion> exclusions(count);
  for (size_t i = 0; i < count; ++i) {
    queries[i] = model_.user_vector(users[i]);
    exclusions[i] = exclusion(users[i]);
  }
  top_k(model_.panel(), queries.data(), exclusions.data(), count, opt_.k, out, scores);
}

std::vector<Scored> Recommender::similar(uint32_t v) const {
  const VideoPanel panel = model_.panel(true);
  std::vector<float> q(model_.video_vector(v), model_.video_vector(v) + model_.factors());
  for (float& x : q) x *= panel.scale[v];
  const float* qp = q.data();
  Exclusion e;
  e.blocked = opt_.blocked.empty() ? nullptr : opt_.blocked.data();
  e.seen_begin = &v;
  e.seen_end = &v + 1;
  std::vector<Scored> out;
  if (opt_.exact || !approximate_top_k(model_, AnnSpace::Cosine, qp, e, opt_.k, opt_.ef, out))
    top_k(panel, &qp, &e, 1, opt_.k, &out);
  return out;
}

std::vector<Scored> Recommender::similar_users(uint32_t u) const {
  const uint32_t f = model_.factors(), n = model_.n_users();
  const float* x = model_.user_vector(u);
  auto norm = [f](const float* a) {
    double s = 0;
    for (uint32_t i = 0; i < f; ++i) s += double(a[i]) * a[i];
    return std::sqrt(s);
  };
  const double nu = norm(x);
  std::vector<Scored> all;
  if (nu == 0) return all;  // no profile: similar to nothing
  for (uint32_t v = 0; v < n; ++v) {
    const float* y = model_.user_vector(v);
    const double nv = norm(y);
    if (v == u || nv == 0) continue;
    double dot = 0;
    for (uint32_t i = 0; i < f; ++i) dot += double(x[i]) * y[i];
    all.push_back({v, float(dot / (nu * nv))});
  }
  const auto better = [](const Scored& a, const Scored& b) {
    return a.score != b.score ? a.score > b.score : a.video < b.video;
  };
  const size_t k = std::min<size_t>(opt_.k, all.size());
  std::partial_sort(all.begin(), all.begin() + k, all.end(), better);
  all.resize(k);
  return all;
}

std::vector<std::string> read_id_list(const std::string& path) {
  std::vector<std::string> ids;
  // A named list must be a regular file (a FIFO would block, /dev/zero never
  // end); "-" is stdin, read a line at a time.
  const int fd = path == "-" ? ::dup(STDIN_FILENO) : open_regular(path);
  FILE* f = fd < 0 ? nullptr : ::fdopen(fd, "rb");
  if (!f) {
    const std::string msg = sys_error("cannot open", path == "-" ? "<stdin>" : path);
    if (fd >= 0) ::close(fd);
    throw IoError(msg);
  }
  io::LineReader reader(path == "-" ? "<stdin>" : path, f);
  try {
    while (char* line = reader.next_line()) {
      std::string_view s(line);
      while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
      while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
      if (!s.empty()) ids.emplace_back(s);
    }
  } catch (const io::error::base& e) {
    throw InputError(e.what());
  }
  return ids;
}

std::vector<uint8_t> block_map(const Model& model, const std::vector<std::string>* exclude,
                               const std::vector<std::string>* only, size_t& unknown_ids) {
  unknown_ids = 0;
  std::vector<uint8_t> blocked(model.n_videos(), only ? 1 : 0);
  auto mark = [&](const std::vector<std::string>& ids, uint8_t value) {
    for (const std::string& id : ids) {
      if (const auto v = model.find_video(id))
        blocked[*v] = value;
      else
        ++unknown_ids;
    }
  };
  if (only) mark(*only, 0);
  if (exclude) mark(*exclude, 1);
  return blocked;
}

Format parse_format(const std::string& name) {
  if (name == "json") return Format::Json;
  if (name == "jsonl") return Format::Jsonl;
  if (name == "csv") return Format::Csv;
  if (name == "tsv") return Format::Tsv;
  throw ConfigError("--format must be json, jsonl, csv or tsv, got '" + name + "'");
}

namespace {

void append_score(std::string& out, float s) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, s);
  out.append(buf, r.ptr);
}

// The length of the well-formed UTF-8 sequence at s[i] (Unicode's table
// 3-7: no overlong forms, surrogates or code points past U+10FFFF), else 0.
size_t utf8_length(std::string_view s, size_t i) {
  const auto at = [&](size_t j) { return i + j < s.size() ? static_cast<unsigned char>(s[i + j]) : 0u; };
  const auto in = [](unsigned c, unsigned lo, unsigned hi) { return c >= lo && c <= hi; };
  const unsigned c = at(0);
  if (in(c, 0xC2, 0xDF)) return in(at(1), 0x80, 0xBF) ? 2 : 0;
  if (in(c, 0xE0, 0xEF)) {
    const unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return in(at(1), lo, hi) && in(at(2), 0x80, 0xBF) ? 3 : 0;
  }
  if (in(c, 0xF0, 0xF4)) {
    const unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return in(at(1), lo, hi) && in(at(2), 0x80, 0xBF) && in(at(3), 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

// A JSON string, the bytes nlohmann's dump writes (UTF-8 kept, controls
// escaped, \u lowercase). Ids are usually plain ASCII and copied as they
// are; ids that are not UTF-8 (each bad byte becomes U+FFFD) are left to
// nlohmann itself, as its rules for where a bad sequence ends are its own.
void append_json_string(std::string& out, std::string_view s) {
  const size_t start = out.size();
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = utf8_length(s, i);
      if (n == 0) {
        out.resize(start);
        out += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        return;
      }
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    if (c >= 0x20 && c != '"' && c != '\\') {  // a run of plain ASCII, copied at once
      size_t j = i + 1;
      while (j < s.size() && static_cast<unsigned char>(s[j]) >= 0x20 && static_cast<unsigned char>(s[j]) < 0x80 &&
             s[j] != '"' && s[j] != '\\')
        ++j;
      out.append(s.substr(i, j - i));
      i = j;
      continue;
    }
    ++i;
    out += '\\';
    switch (c) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '\b': out += 'b'; break;
      case '\f': out += 'f'; break;
      case '\n': out += 'n'; break;
      case '\r': out += 'r'; break;
      case '\t': out += 't'; break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        out += "u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
    }
  }
  out += '"';
}

void append_field(std::string& out, std::string_view s, char sep) {
  if (s.find_first_of(std::string{sep, '"', '\n', '\r'}) == std::string_view::npos) {
    out.append(s);
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

// [{"videoId":"v1","contribution":0.5},...]
void append_because_json(std::string& out, const Model& m, const std::vector<Because>& because) {
  out += '[';
  for (size_t i = 0; i < because.size(); ++i) {
    if (i) out += ',';
    out += "{\"videoId\":";
    append_json_string(out, m.video_id(because[i].video));
    out += ",\"contribution\":";
    append_score(out, float(because[i].contribution));
    out += '}';
  }
  out += ']';
}

// v1:0.5;v2:0.25 as one CSV/TSV field.
void append_because_field(std::string& out, const Model& m, const std::vector<Because>& because, char sep) {
  std::string field;
  for (size_t i = 0; i < because.size(); ++i) {
    if (i) field += ';';
    field += m.video_id(because[i].video);
    field += ':';
    append_score(field, float(because[i].contribution));
  }
  append_field(out, field, sep);
}

}  // namespace

ResultWriter::ResultWriter(std::ostream& out, Format format, Kind kind, const Model& model, bool several,
                           bool because)
    : stream_(&out), format_(format), kind_(kind), model_(model), several_(several), because_(because) {
  append_header(line_);
  emit(line_);
}

ResultWriter::ResultWriter(std::string& out, Format format, Kind kind, const Model& model, bool several,
                           bool because)
    : sink_(&out), format_(format), kind_(kind), model_(model), several_(several), because_(because) {
  append_header(out);
}

void ResultWriter::append_header(std::string& out) const {
  if (format_ != Format::Csv && format_ != Format::Tsv) return;
  const char sep = format_ == Format::Csv ? ',' : '\t';
  const bool users = kind_ != Kind::Similar;
  out += users ? "userId" : "videoId";
  ((out += sep) += "rank") += sep;
  out += kind_ == Kind::Recommend ? "videoId" : users ? "similarUserId" : "similarVideoId";
  (out += sep) += "score";
  if (kind_ == Kind::Recommend) (out += sep) += "source";
  if (because_) (out += sep) += "because";
  out += '\n';
}

void ResultWriter::emit(const std::string& text) {
  if (stream_) *stream_ << text;
}

void ResultWriter::write(const Recommendations& r) {
  // Straight into the sink; a line at a time into the stream.
  std::string& line = sink_ ? *sink_ : line_;
  if (stream_) line.clear();
  if (format_ == Format::Csv || format_ == Format::Tsv) {
    const char sep = format_ == Format::Csv ? ',' : '\t';
    for (size_t i = 0; i < r.items.size(); ++i) {
      append_field(line, r.id, sep);
      line += sep;
      line += std::to_string(i + 1);
      line += sep;
      append_field(line, item_id(r.items[i].video), sep);
      line += sep;
      append_score(line, r.items[i].score);
      if (kind_ == Kind::Recommend) {
        line += sep;
        line += r.source == Source::Popular ? "popular" : "model";
      }
      if (because_) {
        line += sep;
        if (i < r.because.size()) append_because_field(line, model_, r.because[i], sep);
      }
      line += '\n';
    }
  } else {
    if (format_ == Format::Json && several_) line += written_ == 0 ? "[" : ",";
    line += kind_ == Kind::Similar ? "{\"videoId\":" : "{\"userId\":";
    append_json_string(line, r.id);
    if (r.source == Source::Popular) line += ",\"source\":\"popular\"";
    if (!r.location.empty()) {
      line += ",\"location\":";
      append_json_string(line, r.location);
    }
    line += kind_ == Kind::Recommend ? ",\"recommendations\":[" : ",\"similar\":[";
    for (size_t i = 0; i < r.items.size(); ++i) {
      if (i) line += ',';
      line += kind_ == Kind::SimilarUsers ? "{\"userId\":" : "{\"videoId\":";
      append_json_string(line, item_id(r.items[i].video));
      line += ",\"score\":";
      append_score(line, r.items[i].score);
      if (i < r.because.size()) {
        line += ",\"because\":";
        append_because_json(line, model_, r.because[i]);
      }
      line += '}';
    }
    line += "]}";
    if (format_ == Format::Jsonl || !several_) line += '\n';
  }
  emit(line);
  ++written_;
}

std::string_view ResultWriter::item_id(uint32_t i) const {
  return kind_ == Kind::SimilarUsers ? model_.user_id(i) : model_.video_id(i);
}

void ResultWriter::finish() {
  if (format_ == Format::Json && several_) {
    const char* end = written_ == 0 ? "[]\n" : "]\n";
    if (sink_) *sink_ += end;
    if (stream_) *stream_ << end;
  }
  if (!stream_) return;
  stream_->flush();
  if (!*stream_) throw IoError("write to stdout failed");
}

void write_explanation(std::ostream& out, Format format, const Model& model, std::string_view user,
                       std::string_view video, double score, double model_score,
                       const std::vector<Because>& top, double other) {
  std::string line;
  if (format == Format::Csv || format == Format::Tsv) {
    const char sep = format == Format::Csv ? ',' : '\t';
    for (const char* h : {"userId", "videoId", "score", "modelScore", "because"}) (line += h) += sep;
    line += "other\n";
    append_field(line, user, sep);
    line += sep;
    append_field(line, video, sep);
    for (const double x : {score, model_score}) {
      line += sep;
      append_score(line, float(x));
    }
    line += sep;
    append_because_field(line, model, top, sep);
    line += sep;
  } else {
    line += "{\"userId\":";
    append_json_string(line, user);
    line += ",\"videoId\":";
    append_json_string(line, video);
    line += ",\"score\":";
    append_score(line, float(score));
    line += ",\"model_score\":";
    append_score(line, float(model_score));
    line += ",\"because\":";
    append_because_json(line, model, top);
    line += ",\"other\":";
  }
  append_score(line, float(other));
  line += format == Format::Csv || format == Format::Tsv ? "\n" : "}\n";
  out << line;
  out.flush();
  if (!out) throw IoError("write to stdout failed");
}

}  // namespace vidrec
