// SPDX-License-Identifier: MIT
#include "vidrec/options/options.hpp"

#include <charconv>
#include <cstdio>
#include <limits>
#include <optional>
#include <type_traits>

#include "vidrec/base/errors.hpp"
#include "vidrec/ingest/columns.hpp"
#include "vidrec/ingest/timestamp.hpp"
#include "vidrec/options/suggest.hpp"

namespace vidrec {

namespace {

// A field of Settings, as a generic lambda that serves const and non-const.
template <class Field>
using FieldType = std::remove_reference_t<decltype(std::declval<Field>()(std::declval<Settings&>()))>;

template <class T>
struct Unwrap {
  using type = T;
};
template <class T>
struct Unwrap<std::optional<T>> {
  using type = T;
};

[[noreturn]] void refuse(const std::string& what, const std::string& rule, const std::string& text) {
  throw ConfigError(what + " must be " + rule + ", got '" + text + "'");
}

template <class T>
T parse_count(const std::string& text, const std::string& what) {
  const std::string range = "between 0 and " + std::to_string(std::numeric_limits<T>::max());
  const bool minus = !text.empty() && text[0] == '-';
  unsigned long long n = 0;
  const char* end = text.data() + text.size();
  const auto r = std::from_chars(text.data() + (minus ? 1 : 0), end, n);
  if (text.size() <= size_t(minus) || r.ptr != end || r.ec == std::errc::invalid_argument)
    refuse(what, "a number", text);
  if (minus || r.ec == std::errc::result_out_of_range || n > std::numeric_limits<T>::max())
    refuse(what, range, text);
  return T(n);
}

template <class T>
T parse_real(const std::string& text, const std::string& what) {
  T v{};
  const char* end = text.data() + text.size();
  const auto r = std::from_chars(text.data(), end, v);
  if (text.empty() || r.ec != std::errc() || r.ptr != end) refuse(what, "a number", text);
  return v;
}

template <class T>
std::string real_text(T v, bool exact) {
  char buf[160];
  if (exact) {
    std::snprintf(buf, sizeof buf, "%.120g", double(v));
    return buf;
  }
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

template <class Field>
Option count(const char* name, const char* help, unsigned scopes, Field field) {
  using T = FieldType<Field>;
  return {name,
          "N",
          help,
          scopes,
          {},
          [field](Settings& s, const std::string& t, const std::string& what) {
            field(s) = parse_count<T>(t, what);
          },
          [field](const Settings& s, bool) { return std::to_string(field(s)); }};
}

// float, double or optional<double> (unset: "").
template <class Field>
Option real(const char* name, const char* help, unsigned scopes, Field field) {
  using T = typename Unwrap<FieldType<Field>>::type;
  return {name,
          "X",
          help,
          scopes,
          {},
          [field](Settings& s, const std::string& t, const std::string& what) {
            field(s) = parse_real<T>(t, what);
          },
          [field](const Settings& s, bool exact) -> std::string {
            const auto& v = field(s);
            if constexpr (std::is_same_v<FieldType<Field>, T>)
              return real_text(v, exact);
            else
              return v ? real_text(*v, exact) : "";
          }};
}

// An enum whose values are the names' indexes.
template <class Field>
Option choice(const char* name, const char* help, unsigned scopes, std::vector<std::string> names,
              Field field) {
  std::string value, rule;
  for (size_t i = 0; i < names.size(); ++i) {
    value += (i ? "|" : "") + names[i];
    rule += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  }
  return {name,
          value,
          help,
          scopes,
          names,
          [field, names, rule](Settings& s, const std::string& t, const std::string& what) {
            for (size_t i = 0; i < names.size(); ++i)
              if (t == names[i]) {
                field(s) = FieldType<Field>(i);
                return;
              }
            refuse(what, rule, t);
          },
          [field, names](const Settings& s, bool) { return names[size_t(field(s))]; }};
}

template <class Field>
Option flag(const char* name, const char* help, unsigned scopes, Field field) {
  return {name,
          "",
          help,
          scopes,
          {"true", "false"},
          [field](Settings& s, const std::string& t, const std::string& what) {
            if (t != "true" && t != "false") refuse(what, "true or false", t);
            field(s) = t == "true";
          },
          [field](const Settings& s, bool) { return field(s) ? "true" : "false"; }};
}

Option duration(const char* name, const char* help, unsigned scopes) {
  return {name,
          "DURATION",
          help,
          scopes,
          {},
          [](Settings& s, const std::string& t, const std::string&) {
            s.weighting.half_life = parse_duration(t);
          },
          [](const Settings& s, bool exact) { return real_text(s.weighting.half_life, exact); }};
}

Option timestamp(const char* name, const char* help, unsigned scopes) {
  return {name,
          "TIME",
          help,
          scopes,
          {},
          [](Settings& s, const std::string& t, const std::string& what) {
            int64_t v = 0;
            if (!parse_timestamp(t, v)) throw ConfigError(what + ": not a timestamp: '" + t + "'");
            s.weighting.now = v;
          },
          [](const Settings& s, bool) { return s.weighting.now ? std::to_string(*s.weighting.now) : ""; }};
}

// prepare's --columns: text() writes the names back in field order.
Option columns(const char* name, const char* help, unsigned scopes) {
  return {name,
          "LIST",
          help,
          scopes,
          {},
          [](Settings& s, const std::string& t, const std::string&) {
            s.prepare.layout.columns = parse_columns(t);
          },
          [](const Settings& s, bool) {
            if (!s.prepare.layout.columns) return std::string();
            const ColumnMap& m = *s.prepare.layout.columns;
            std::vector<std::string> fields(m.width, "-");
            for (size_t c = 0; c < kColumns; ++c)
              if (m.at[c] >= 0) fields[size_t(m.at[c])] = column_name(Column(c));
            std::string out;
            for (const std::string& f : fields) out += (out.empty() ? "" : ",") + f;
            return out;
          }};
}

Option delimiter(const char* name, const char* help, unsigned scopes) {
  return {name,
          "CHAR",
          help,
          scopes,
          {},
          [](Settings& s, const std::string& t, const std::string&) {
            s.prepare.layout.delimiter = parse_delimiter(t);
          },
          [](const Settings& s, bool) {
            const char d = s.prepare.layout.delimiter;
            return d == 0 ? std::string() : d == '\t' ? std::string("\\t") : std::string(1, d);
          }};
}

using namespace scope;
// The field an option sets, for const and non-const Settings alike.
#define AT(field) \
  [](auto& s) -> auto& { return s.field; }
constexpr unsigned kModel = Train | SageMaker | Ranks;  // the model's hyperparameters

std::vector<Option> table() {
  return {
      count("factors", "Latent factors", kModel, AT(als.factors)),
      count("iterations", "ALS iterations", kModel, AT(als.iterations)),
      real("regularization", "L2 regularization lambda", kModel, AT(als.regularization)),
      real("alpha", "Confidence scale: c = 1 + alpha * w", kModel, AT(als.alpha)),
      choice("confidence", "linear: 1 + alpha*w; log: 1 + alpha*log(1 + w/epsilon)", kModel,
             {"linear", "log"}, AT(als.confidence)),
      real("epsilon", "Epsilon of the log confidence", kModel, AT(als.epsilon)),
      choice("solver", "cg (conjugate gradient, as implicit) or cholesky (exact)", kModel, {"cg", "cholesky"},
             AT(als.solver)),
      count("cg-steps", "Conjugate-gradient steps per row", kModel, AT(als.cg_steps)),
      count("threads", "Worker threads (0 = all cores)", kModel, AT(als.threads)),
      count("seed", "Random seed of the initial factors", kModel, AT(als.seed)),
      real("unobserved-weight", "Confidence alpha0 of unobserved pairs (1 in Hu, Koren & Volinsky)", kModel,
           AT(als.unobserved_weight)),
      real("reg-exponent",
           "Frequency-scaled regularisation: lambda * (n_r + alpha0 * n)^exponent per row (0 = fixed)",
           kModel, AT(als.reg_exponent)),
      real("negative-weight",
           "Confidence of pairs with a negative summed weight as p = 0 pairs (0 = unobserved)", kModel,
           AT(als.negative_weight)),
      choice("ann", "Build an approximate nearest-neighbour index with the model (none or hnsw)", kModel,
             {"none", "hnsw"}, AT(ann.method)),
      count("ann-m", "HNSW links per video (--ann)", kModel, AT(ann.m)),
      count("ann-ef-construction", "HNSW candidate list while building (--ann)", kModel,
            AT(ann.ef_construction)),
      flag("loss", "Compute and print the weighted training loss each iteration", Train | Ranks,
           AT(als.compute_loss)),
      choice("weighting", "Reweight the matrix first: none, bm25 or tfidf (users as documents)",
             Train | SageMaker, {"none", "bm25", "tfidf"}, AT(weighting.scheme)),
      real("bm25-k1", "BM25 K1", Train | SageMaker, AT(weighting.k1)),
      real("bm25-b", "BM25 B", Train | SageMaker, AT(weighting.b)),
      duration("half-life", "Time decay: weights halve every DURATION of age (30d, 12h; 0 = off)",
               Train | SageMaker),
      timestamp(
          "now",
          "Reference time of --half-life (epoch seconds or YYYY-MM-DD HH:MM:SS UTC; default: the newest "
          "event)",
          Train),
      count("min-user-events", "Drop users with fewer events (iterated)", Prepare | SageMaker,
            AT(prepare.prune.min_user_events)),
      count("min-video-events", "Drop videos with fewer events (iterated)", Prepare | SageMaker,
            AT(prepare.prune.min_video_events)),
      real("max-reject-rate",
           "Fail (exit 1, nothing written) when more than this fraction of rows is malformed",
           Prepare | SageMaker, AT(prepare.max_reject_rate)),
      columns("columns",
              "Field order of logs without a header, e.g. video,user,time,value ('-' skips a field; names "
              "as in a header)",
              Prepare | SageMaker),
      delimiter("delimiter",
                "Field delimiter: ',', ';', '|' or '\\t' (tab); default: ',' or what the header uses",
                Prepare | SageMaker),
      count("processes-per-host", "Training processes on each instance (mpirun ranks)", SageMaker,
            AT(processes_per_host)),
      count("mpi-wait-seconds", "How long hosts wait for each other's ssh and for the job", SageMaker,
            AT(mpi_wait_seconds)),
  };
}
#undef AT

std::string canonical(std::string name) {
  for (char& c : name)
    if (c == '_') c = '-';
  return name;
}

}  // namespace

const std::vector<Option>& options() {
  static const std::vector<Option> all = table();
  return all;
}

const Option* find_option(const std::string& name, unsigned scopes) {
  const std::string key = canonical(name);
  for (const Option& o : options())
    if ((o.scopes & scopes) && o.name == key) return &o;
  return nullptr;
}

std::string did_you_mean(const std::string& name, unsigned scopes) {
  std::vector<std::string> names;
  for (const Option& o : options())
    if (o.scopes & scopes) names.push_back(o.name);
  std::string best = nearest(name, names);
  if (best.empty()) return "";
  if (name.find('_') != std::string::npos && name.find('-') == std::string::npos)
    for (char& c : best)
      if (c == '-') c = '_';
  return "; did you mean '" + best + "'?";
}

}  // namespace vidrec
