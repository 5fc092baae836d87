// SPDX-License-Identifier: MIT
// render_html: the page of report.hpp from report_data's JSON.
#include <cmath>
#include <cstdio>

#include "vidrec/report/report.hpp"
#include "vidrec/report/svg.hpp"

namespace vidrec {

namespace {

using json = nlohmann::json;

// Ids and paths need not be UTF-8: dump() must not throw after the work is done.
std::string text(const json& j) {
  return j.is_string() ? j.get<std::string>() : j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string fixed(double v, int digits = 4) {
  char b[40];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

std::string row(const std::string& key, const json& value) {
  return "<tr><th>" + html_escape(key) + "</th><td>" + html_escape(text(value)) + "</td></tr>";
}

const char* kStyle =
    "body{font:14px/1.4 sans-serif;margin:24px;color:#222;max-width:1400px}"
    "h1{margin-bottom:0}h2{border-bottom:1px solid #ccc;margin-top:32px}"
    ".sub{color:#666;margin-top:4px}table{border-collapse:collapse;margin:8px 0}"
    "th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}"
    "th{background:#f6f6f6;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".charts{display:flex;flex-wrap:wrap;gap:12px}.note{color:#555}"
    "svg text{font:11px sans-serif;fill:#333}svg text.title{font-size:13px;font-weight:600}"
    "pre{background:#f6f6f6;padding:6px;white-space:pre-wrap;word-break:break-all;max-width:1000px}"
    ".cards{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}";

std::string card(const json& data) {
  const json& m = data["model"];
  const json& meta = m["meta"];
  std::string o =
      "<section id=\"card\"><h2>Model card</h2><div class=\"cards\"><table><caption>File</caption>";
  for (const char* k : {"path", "kind", "format_version", "file_bytes", "header_checksum", "factors_checksum",
                        "users", "videos", "factors", "seen_pairs", "locations"})
    o += row(k, m[k]);
  o += "</table>";
  if (meta.contains("dataset")) {
    o += "<table><caption>Training data</caption>";
    for (const auto& [k, v] : meta["dataset"].items()) o += row(k, v);
    const json& d = data["dataset"];
    if (d.is_object()) {
      const bool same = meta["dataset"].value("content_checksum", "") == d["content_checksum"];
      o += row("--dataset", d["path"]);
      o += row("--dataset is the training data",
               same ? "yes (same content checksum)" : "NO: content checksum differs");
      if (d.contains("first_timestamp"))
        o += row("time span (UTC)", text(d["first_timestamp"]) + " .. " + text(d["last_timestamp"]));
      o += row("events", d["events"]);
      o += row("locations", d["locations"]);
    }
    o += "</table>";
  }
  if (meta.contains("hyperparameters")) {
    o += "<table><caption>Hyperparameters</caption>";
    for (const auto& [k, v] : meta["hyperparameters"].items()) o += row(k, v);
    o += "</table>";
  }
  o += "<table><caption>Training</caption>" + row("tool", meta.value("tool", std::string("?")));
  if (meta.contains("training")) {
    double total = 0;
    for (const json& s : meta["training"]["iteration_seconds"]) total += s.get<double>();
    o += row("iterations", meta["training"]["iteration_seconds"].size());
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.3g", total);
    o += row("training seconds (solver)", secs);
    if (!meta["training"]["loss"].empty()) o += row("final loss", meta["training"]["loss"].back());
    if (meta["training"].contains("ranks")) o += row("ranks", meta["training"]["ranks"]);
  }
  if (meta.contains("tune")) o += row("tuned", meta["tune"]);
  o += "</table></div>";
  const json& d = data["dataset"];
  if (d.is_object() && d.contains("provenance"))
    o += "<details><summary>Provenance of the dataset</summary><pre>" +
         html_escape(d["provenance"].dump(1, ' ', false, json::error_handler_t::replace)) +
         "</pre></details>";
  return o + "</section>";
}

std::vector<double> numbers(const json& a) {
  std::vector<double> v;
  for (const json& x : a) v.push_back(x.is_number() ? x.get<double>() : NAN);
  return v;
}

std::vector<double> count_from_1(size_t n) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = double(i + 1);
  return v;
}

std::string training(const json& data) {
  std::string o = "<section id=\"training\"><h2>Training</h2>";
  const json& meta = data["model"]["meta"];
  if (!meta.contains("training"))
    return o + "<p class=\"note\">No training record (an imported model).</p></section>";
  const json& t = meta["training"];
  o += "<div class=\"charts\">";
  if (t["loss"].empty())
    o += "<p class=\"note\">Loss not recorded: train with <code>--loss</code> to keep it per iteration.</p>";
  else
    o += line_chart({"Training loss", {"iteration"}, {"loss"}},
                    {{"loss", count_from_1(t["loss"].size()), numbers(t["loss"])}});
  const json& secs = t["iteration_seconds"];
  if (!secs.empty())
    o += line_chart({"Seconds per iteration", {"iteration"}, {"seconds", false, true}},
                    {{"solver seconds", count_from_1(secs.size()), numbers(secs)}});
  return o + "</div></section>";
}

// Charts of one metric against k, model vs popularity, from reports' `at`.
std::string metric_chart(const json& at, const char* metric, const char* label,
                         const json::json_pointer& where, int width) {
  std::vector<double> k, m, p;
  for (const json& r : at) {
    const json& g = where.empty() ? r : r[where];
    k.push_back(r["k"].get<double>());
    m.push_back(g["model"][metric].get<double>());
    p.push_back(g["popularity"][metric].get<double>());
  }
  ChartSpec spec{label, {"k"}, {label, false, true}, width, width * 5 / 8};
  return line_chart(spec, {{"model", k, m}, {"popularity", k, p}});
}

constexpr std::pair<const char*, const char*> kMetrics[] = {
    {"precision", "precision@k"}, {"recall", "recall@k"}, {"ndcg", "NDCG@k"}, {"map", "MAP@k"}};

std::string evaluation(const json& data) {
  const json& e = data["evaluation"];
  if (!e.is_object()) return "";
  const json& at = e["at"];
  const json& first = at[0];
  std::string o =
      "<section id=\"evaluation\"><h2>Ranking quality on " + html_escape(text(e["test"])) + "</h2><p>";
  o += std::to_string(first["users_evaluated"].get<uint64_t>()) + " users evaluated (" +
       (e["sampled"].get<bool>()
            ? "a sample of the " + text(e["test_users"]) + " test users with pairs, seed " + text(e["seed"])
            : "every test user known to the model") +
       "), " + text(first["users_unknown"]) + " unknown to the model; k = 1.." + text(at.back()["k"]) +
       ", the figures of <code>vidrec evaluate -k K</code>.</p><div class=\"charts\">";
  for (const auto& [metric, label] : kMetrics)
    o += metric_chart(at, metric, label, json::json_pointer(), 420);
  o += "</div>";
  const json& r = at[std::min<size_t>(at.size(), 10) - 1];
  o += "<table><caption>At k = " + text(r["k"]) +
       "</caption><tr><th>metric</th><th>model</th><th>popularity</th></tr>";
  for (const char* metric : {"precision", "recall", "map", "ndcg", "auc", "coverage", "users"}) {
    auto cell = [&](const json& v) {
      return "<td class=\"n\">" + (v.is_number_float() ? fixed(v.get<double>()) : html_escape(text(v))) +
             "</td>";
    };
    o += "<tr><th>" + std::string(metric) + "</th>" + cell(r["model"][metric]) +
         cell(r["popularity"][metric]) + "</tr>";
  }
  o += "</table><h3>By user activity (training pairs per user)</h3>";
  for (size_t s = 0; s < first["segments"].size(); ++s) {
    const json& seg = first["segments"][s];
    o += "<h4>" + html_escape(text(seg["name"])) + " pairs: " + text(seg["users"]) + " users</h4>";
    if (seg["users"].get<uint64_t>() == 0) continue;
    o += "<div class=\"charts\">";
    const json::json_pointer where("/segments/" + std::to_string(s));
    for (const auto& [metric, label] : kMetrics) o += metric_chart(at, metric, label, where, 320);
    o += "</div>";
  }
  return o + "</section>";
}

std::string catalog(const json& data) {
  const json& c = data["catalog"];
  std::string o = "<section id=\"catalog\"><h2>Catalog coverage and the long tail</h2><p>Top " +
                  text(c["k"]) + " of " + text(c["users"]) + " users (of " + text(c["population"]) +
                  ", seed " + text(c["seed"]) + "): " + text(c["recommended_videos"]) +
                  " distinct videos recommended, coverage " + fixed(100 * c["coverage"].get<double>(), 2) +
                  "% of " + text(c["videos"]) + " videos.</p>";
  std::vector<std::string> cats;
  std::vector<double> seen, rec;
  const double ns = std::max(1.0, c["interactions"].get<double>()),
               nr = std::max(1.0, c["recommendations"].get<double>());
  const size_t bins = c["bins"].size();
  for (size_t b = 0; b < bins; ++b) {
    cats.push_back(std::to_string(100 * b / bins) + "-" + std::to_string(100 * (b + 1) / bins) + "%");
    seen.push_back(100 * c["bins"][b]["interactions"].get<double>() / ns);
    rec.push_back(100 * c["bins"][b]["recommendations"].get<double>() / nr);
  }
  o += "<div class=\"charts\">" +
       bar_chart({"Share per popularity bin (head first)",
                  {"videos ranked by popularity"},
                  {"% of the sample's", false, true},
                  860,
                  300},
                 cats, {{"interactions", {}, seen}, {"recommendations", {}, rec}}) +
       "</div>";
  return o + "</section>";
}

std::string tune(const json& data) {
  const json& t = data["tune"];
  if (!t.is_object()) return "";
  const json& ev = t["evaluations"];
  const long best = t["best"].get<long>();
  std::string o = "<section id=\"tune\"><h2>Tuning: " + html_escape(text(t["path"])) + "</h2><p>" +
                  std::to_string(ev.size()) + " evaluations plotted, " + text(t["diverged"]) +
                  " diverged (left out); the best is ringed.</p><div class=\"charts\">";
  const std::string metric = best >= 0 ? text(ev[size_t(best)].value("metric", json("value"))) : "value";
  struct P {
    const char* key;
    bool log;
  };
  for (const P& p :
       {P{"factors", true}, P{"regularization", true}, P{"alpha", true}, P{"iterations", false}}) {
    std::vector<double> x, y;
    for (const json& e : ev) {
      const json& v = p.key == std::string("iterations") && e.contains("iterations")
                          ? e["iterations"]
                          : e["parameters"].value(p.key, json());
      x.push_back(v.is_number() ? v.get<double>() : NAN);
      y.push_back(e["value"].get<double>());
    }
    o += scatter_chart({metric + " vs " + p.key, {p.key, p.log}, {metric}}, {{"evaluations", x, y}}, best);
  }
  o += "</div>";
  if (best >= 0) {
    const json& b = ev[size_t(best)];
    o += "<table><caption>Best evaluation</caption>" + row(metric, b["value"]);
    for (const char* k : {"trial", "rung", "iterations", "seed"})
      if (b.contains(k)) o += row(k, b[k]);
    for (const auto& [k, v] : b["parameters"].items()) o += row(k, v);
    o += "</table>";
  }
  return o + "</section>";
}

std::string samples(const json& data) {
  const json& s = data["samples"];
  std::string o =
      "<section id=\"samples\"><h2>Sample recommendations</h2><p>The first users of the sample; history " +
      std::string(s["history_from"] == "dataset"
                      ? "from --dataset, most recent first"
                      : "as the model holds it (no --dataset: in id order, no times)") +
      ".</p><table><tr><th>user</th><th>recent history</th><th>top recommendations</th></tr>";
  for (const json& u : s["users"]) {
    o += "<tr><td>" + html_escape(text(u["userId"])) + "<br><small>" + text(u["history_pairs"]) + " pairs; " +
         html_escape(text(u["source"])) + "</small></td><td>";
    for (const json& h : u["history"])
      o += html_escape(text(h["videoId"])) +
           (h.contains("last") ? " <small>" + html_escape(text(h["last"])) + "</small>" : "") + "<br>";
    o += "</td><td>";
    for (const json& r : u["recommendations"])
      o += html_escape(text(r["videoId"])) + " <small>" + fixed(r["score"].get<double>()) + "</small><br>";
    o += "</td></tr>";
  }
  return o + "</table></section>";
}

// JSON inside <script>: '<', '>' and '&' only occur in strings there, where
// their \u escapes mean the same, and no "</script>" can close the block.
std::string script_json(const json& data) {
  std::string o;
  for (char c : data.dump(-1, ' ', false, json::error_handler_t::replace)) switch (c) {
      case '<':
        o += "\\u003c";
        break;
      case '>':
        o += "\\u003e";
        break;
      case '&':
        o += "\\u0026";
        break;
      default:
        o += c;
    }
  return o;
}

}  // namespace

std::string render_html(const json& data) {
  const std::string path = html_escape(text(data["model"]["path"]));
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>vidrec report: " + path +
         "</title><style>" + kStyle + "</style></head><body><h1>vidrec report</h1><p class=\"sub\">" + path +
         "</p>" + card(data) + training(data) + evaluation(data) + catalog(data) + tune(data) +
         samples(data) + "<script type=\"application/json\" id=\"vidrec-data\">" + script_json(data) +
         "</script></body></html>\n";
}

}  // namespace vidrec
