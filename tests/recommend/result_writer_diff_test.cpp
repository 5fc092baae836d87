// SPDX-License-Identifier: MIT
// ResultWriter, into a stream and straight into a string (serve's replies),
// against the writer it replaced (kept here only as the reference: nlohmann
// escaping ids, an ostream), over random results: ids that need escapes or
// are not UTF-8, scores of every magnitude, NaN and infinities.
#include <algorithm>
#include <catch2/catch.hpp>
#include <charconv>
#include <cstring>
#include <random>
#include <sstream>

#include "test_util.hpp"
#include "vidrec/recommend/recommend.hpp"

using namespace vidrec;

namespace ref {

// ---- The writer as it was at 7131c1e (lib/vidrec/recommend/recommend.cpp) ----

void append_score(std::string& out, float s) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, s);
  out.append(buf, r.ptr);
}

void append_json_string(std::string& out, std::string_view s) {
  out += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
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

std::string render(const Model& m, Format format, ResultWriter::Kind kind, bool several, bool because,
                   const std::vector<Recommendations>& rs) {
  using Kind = ResultWriter::Kind;
  std::ostringstream out_;
  const auto item_id = [&](uint32_t i) { return kind == Kind::SimilarUsers ? m.user_id(i) : m.video_id(i); };
  if (format == Format::Csv || format == Format::Tsv) {
    const char sep = format == Format::Csv ? ',' : '\t';
    const bool users = kind != Kind::Similar;
    out_ << (users ? "userId" : "videoId") << sep << "rank" << sep
         << (kind == Kind::Recommend ? "videoId" : users ? "similarUserId" : "similarVideoId") << sep << "score"
         << (kind == Kind::Recommend ? std::string{sep} + "source" : "")
         << (because ? std::string{sep} + "because\n" : "\n");
  }
  size_t written_ = 0;
  for (const Recommendations& r : rs) {
    std::string line_;
    if (format == Format::Csv || format == Format::Tsv) {
      const char sep = format == Format::Csv ? ',' : '\t';
      for (size_t i = 0; i < r.items.size(); ++i) {
        append_field(line_, r.id, sep);
        line_ += sep;
        line_ += std::to_string(i + 1);
        line_ += sep;
        append_field(line_, item_id(r.items[i].video), sep);
        line_ += sep;
        append_score(line_, r.items[i].score);
        if (kind == Kind::Recommend) {
          line_ += sep;
          line_ += r.source == Source::Popular ? "popular" : "model";
        }
        if (because) {
          line_ += sep;
          if (i < r.because.size()) append_because_field(line_, m, r.because[i], sep);
        }
        line_ += '\n';
      }
    } else {
      if (format == Format::Json && several) line_ += written_ == 0 ? "[" : ",";
      line_ += kind == Kind::Similar ? "{\"videoId\":" : "{\"userId\":";
      append_json_string(line_, r.id);
      if (r.source == Source::Popular) line_ += ",\"source\":\"popular\"";
      if (!r.location.empty()) {
        line_ += ",\"location\":";
        append_json_string(line_, r.location);
      }
      line_ += kind == Kind::Recommend ? ",\"recommendations\":[" : ",\"similar\":[";
      for (size_t i = 0; i < r.items.size(); ++i) {
        if (i) line_ += ',';
        line_ += kind == Kind::SimilarUsers ? "{\"userId\":" : "{\"videoId\":";
        append_json_string(line_, item_id(r.items[i].video));
        line_ += ",\"score\":";
        append_score(line_, r.items[i].score);
        if (i < r.because.size()) {
          line_ += ",\"because\":";
          append_because_json(line_, m, r.because[i]);
        }
        line_ += '}';
      }
      line_ += "]}";
      if (format == Format::Jsonl || !several) line_ += '\n';
    }
    out_ << line_;
    ++written_;
  }
  if (format == Format::Json && several) out_ << (written_ == 0 ? "[]\n" : "]\n");
  return out_.str();
}

}  // namespace ref

namespace {

// Random bytes biased to what needs care: controls, quotes, backslashes,
// UTF-8 sequences well- and ill-formed, cut short.
std::string hostile_string(std::mt19937_64& rng) {
  static const std::vector<std::string> pieces = {
      "u1", "video-", "\"", "\\", "\n", "\r", "\t", "\b", "\f", std::string(1, '\0'), "\x01", "\x1f", "\x7f",
      ",", ";", ":", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc3", "\xe2\x82", "\xf0\x9f\x98",
      "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf5", "\xff", "\x80", "\xbf", " "};
  std::string s;
  const size_t n = rng() % 8;
  for (size_t i = 0; i < n; ++i)
    s += rng() % 4 ? pieces[rng() % pieces.size()] : std::string(1, char(rng() % 256));
  return s;
}

float any_float(std::mt19937_64& rng) {
  static const float special[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.1f, 1e-45f, 1e38f, 3.4028235e38f,
                                  std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                                  std::numeric_limits<float>::quiet_NaN(), 1.17549435e-38f};
  if (rng() % 4 == 0) return special[rng() % std::size(special)];
  const uint32_t bits = uint32_t(rng());
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

}  // namespace

TEST_CASE("result writer diff: string and stream output match the reference writer", "[recommend][writer_diff]") {
  std::mt19937_64 rng(42);
  // A model whose ids need escapes, quotes in CSV, or are not UTF-8.
  test::TempDir dir;
  DatasetData d;
  d.user_ids = {"plain", "qu\"ote", "\xc3\xa9l\xc3\xa8ve", "bad\xff", "ctl\x01\n"};
  d.video_ids = {"v1", "v,2", "v\\3", "\xe2\x82\xac", "\xed\xa0\x80x", "tab\tv"};
  std::sort(d.user_ids.begin(), d.user_ids.end());  // stored in ascending byte order
  std::sort(d.video_ids.begin(), d.video_ids.end());
  d.indptr = {0, 1, 2, 3, 4, 5};
  d.indices = {0, 1, 2, 3, 4};
  d.weights = {1, 1, 1, 1, 1};
  d.events = {1, 1, 1, 1, 1};
  d.first_ts = d.last_ts = {0, 0, 0, 0, 0};
  write_dataset(d, dir.file("d.vrd"));
  const std::vector<float> users(10, 0.5f), videos(12, 0.25f);
  ModelData md;
  md.factors = 2;
  md.user_factors = users.data();
  md.video_factors = videos.data();
  write_model(Dataset::open(dir.file("d.vrd")), md, dir.file("m.vrm"));
  const Model m = Model::open(dir.file("m.vrm"));

  for (int round = 0; round < 3000; ++round) {
    const Format format = std::vector<Format>{Format::Json, Format::Jsonl, Format::Csv, Format::Tsv}[rng() % 4];
    const auto kind = std::vector<ResultWriter::Kind>{ResultWriter::Kind::Recommend, ResultWriter::Kind::Similar,
                                                      ResultWriter::Kind::SimilarUsers}[rng() % 3];
    const bool several = rng() % 2, because = rng() % 2;
    std::vector<std::string> ids(rng() % 4), locations(ids.size());
    std::vector<Recommendations> rs(ids.size());
    for (size_t i = 0; i < rs.size(); ++i) {
      ids[i] = hostile_string(rng);
      locations[i] = rng() % 3 ? "" : hostile_string(rng);
      rs[i].id = ids[i];
      rs[i].location = locations[i];
      rs[i].source = rng() % 3 ? Source::Model : Source::Popular;
      const uint32_t n_items = kind == ResultWriter::Kind::SimilarUsers ? 5 : 6;
      rs[i].items.resize(rng() % 5);
      for (Scored& s : rs[i].items) s = {uint32_t(rng() % n_items), any_float(rng)};
      if (because)
        for (size_t j = 0; j < rs[i].items.size(); ++j) {
          rs[i].because.emplace_back(rng() % 3);
          for (Because& b : rs[i].because.back()) b = {uint32_t(rng() % 6), double(any_float(rng))};
        }
    }
    const std::string want = ref::render(m, format, kind, several, because, rs);
    INFO("reference: " << want);
    std::string sink = "prefix:";  // appended to, never replaced
    ResultWriter to_string(sink, format, kind, m, several, because);
    std::ostringstream stream;
    ResultWriter to_stream(stream, format, kind, m, several, because);
    for (const Recommendations& r : rs) {
      to_string.write(r);
      to_stream.write(r);
    }
    to_string.finish();
    to_stream.finish();
    REQUIRE(sink == "prefix:" + want);
    REQUIRE(stream.str() == want);
  }
}
