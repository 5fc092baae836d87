// SPDX-License-Identifier: MIT
#include "vidrec/interop/import.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <sstream>

#include "vidrec/base/errors.hpp"
#include "vidrec/dataset/dataset.hpp"
#include "vidrec/interop/npz.hpp"
#include "vidrec/io/atomic_file.hpp"
#include "vidrec/io/mapped_file.hpp"
#include "vidrec/io/paths.hpp"
#include "vidrec/io/spill_dir.hpp"
#include "vidrec/model/model.hpp"

namespace vidrec {

namespace {

namespace fs = std::filesystem;

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// Fills in from the export directory what the options leave out, then checks
// that the factors and ids are named once.
void resolve(ImportOptions& o) {
  if (!o.dir.empty()) {
    const fs::path d = o.dir;
    std::error_code ec;
    if (!fs::is_directory(d, ec)) throw ConfigError(o.dir + ": not a directory");
    const auto fill = [&d](std::string& s, const char* name) {
      if (s.empty() && is_file(d / name)) s = d / name;
    };
    if (o.implicit_npz.empty()) {
      fill(o.user_factors, "user_factors.npy");
      fill(o.item_factors, "item_factors.npy");
      if (o.user_factors.empty() && o.item_factors.empty()) fill(o.implicit_npz, "model.npz");
    }
    fill(o.user_ids, "user_ids.txt");
    fill(o.item_ids, "item_ids.txt");
    fill(o.meta, "meta.json");
  }
  const bool npy = !o.user_factors.empty() || !o.item_factors.empty();
  if (npy == !o.implicit_npz.empty())
    throw ConfigError(
        "give the factors as --user-factors and --item-factors or as --implicit (or a directory "
        "holding user_factors.npy and item_factors.npy, or model.npz)");
  if (npy && (o.user_factors.empty() || o.item_factors.empty()))
    throw ConfigError("--user-factors and --item-factors go together");
  if (o.user_ids.empty() || o.item_ids.empty())
    throw ConfigError(
        "the ids are required: --user-ids and --item-ids (or a directory holding user_ids.txt and "
        "item_ids.txt)");
  if (o.output.empty()) throw ConfigError("an output model path is required (-o FILE)");
}

struct Factors {
  std::vector<float> values;  // rows x cols, C order
  uint64_t rows = 0, cols = 0;
  std::string name;
};

Factors factors_of(const NpyArray& a, const std::string& name) {
  Factors f;
  f.values = float_matrix(a, name);
  f.rows = a.shape[0];
  f.cols = a.shape[1];
  f.name = name;
  if (f.rows == 0 || f.rows >= UINT32_MAX) throw InputError(name + ": " + std::to_string(f.rows) + " rows");
  return f;
}

Factors read_npy_file(const std::string& path) {
  const auto file = MappedFile::open(path);
  return factors_of(parse_npy(file->data(), file->size(), path), path);
}

struct Ids {
  std::vector<std::string> sorted;
  std::vector<uint64_t> line;   // of each sorted id in the file, from 1
  std::vector<uint64_t> order;  // sorted[i] is row order[i] of the factors
};

Ids read_ids(const std::string& path, const Factors& f) {
  const auto file = MappedFile::open(path);
  const std::string_view all(file->data(), file->size());
  std::vector<std::string> ids;
  for (size_t pos = 0; pos < all.size();) {
    size_t nl = all.find('\n', pos);
    if (nl == std::string_view::npos) nl = all.size();
    const std::string at = path + ":" + std::to_string(ids.size() + 1) + ": ";
    if (nl == pos) throw InputError(at + "empty id");
    if (all[nl - 1] == '\r') throw InputError(at + "the id ends in a carriage return (CRLF line ends?)");
    ids.emplace_back(all.substr(pos, nl - pos));
    pos = nl + 1;
  }
  if (ids.size() != f.rows)
    throw InputError(path + ": " + std::to_string(ids.size()) + " ids, but " + f.name + " has " +
                     std::to_string(f.rows) + " rows");
  Ids r;
  r.order.resize(ids.size());
  std::iota(r.order.begin(), r.order.end(), uint64_t(0));
  std::stable_sort(r.order.begin(), r.order.end(),
                   [&ids](uint64_t a, uint64_t b) { return ids[a] < ids[b]; });
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i && ids[r.order[i]] == ids[r.order[i - 1]])
      throw InputError(path + ":" + std::to_string(r.order[i] + 1) + ": id '" + ids[r.order[i]] +
                       "' repeats line " + std::to_string(r.order[i - 1] + 1));
    r.line.push_back(r.order[i] + 1);
  }
  for (const uint64_t k : r.order) r.sorted.push_back(std::move(ids[k]));
  return r;
}

// The factors' rows in the sorted ids' order.
std::vector<float> permuted(const Factors& f, const Ids& ids) {
  std::vector<float> out(f.values.size());
  for (uint64_t i = 0; i < f.rows; ++i)
    std::copy_n(f.values.begin() + ptrdiff_t(ids.order[i] * f.cols), f.cols,
                out.begin() + ptrdiff_t(i * f.cols));
  return out;
}

// A merge of two ascending id lists that must be equal.
template <class At>
void match_ids(const Ids& ids, const std::string& file, uint32_t n, At at, const std::string& dataset,
               const char* what) {
  for (uint64_t i = 0, j = 0; i < ids.sorted.size() || j < n;) {
    if (i < ids.sorted.size() && j < n && ids.sorted[i] == at(uint32_t(j))) {
      ++i, ++j;
    } else if (j == n || (i < ids.sorted.size() && ids.sorted[i] < at(uint32_t(j)))) {
      throw InputError(file + ":" + std::to_string(ids.line[i]) + ": " + what + " id '" + ids.sorted[i] +
                       "' is not in the dataset " + dataset);
    } else {
      throw InputError(dataset + ": " + what + " '" + std::string(at(uint32_t(j))) + "' has no line in " +
                       file);
    }
  }
}

// A hyperparameter implicit saved, checked to be a number >= `min`.
std::optional<double> implicit_number(const NpzReader& npz, const std::string& key, double min) {
  if (!npz.has(key)) return std::nullopt;
  const double v = npy_number(npz.array(key), npz.name(key));
  if (!std::isfinite(v) || v < min)
    throw InputError(npz.name(key) + ": " + std::to_string(v) + " is not a valid " + key);
  return v;
}

nlohmann::json implicit_hyperparameters(const NpzReader& npz) {
  nlohmann::json h = nlohmann::json::object();
  for (const char* k : {"regularization", "alpha"})
    if (const auto v = implicit_number(npz, k, 0)) h[k] = *v;
  for (const char* k : {"iterations", "cg_steps"})
    if (const auto v = implicit_number(npz, k, 1)) h[k] = uint64_t(std::min(*v, double(UINT32_MAX)));
  if (const auto v = implicit_number(npz, "use_cg", 0)) h["solver"] = *v != 0 ? "cg" : "cholesky";
  if (const auto v = implicit_number(npz, "random_state", 0)) h["seed"] = uint64_t(*v);
  return h;
}

nlohmann::json read_meta(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) throw IoError(sys_error("cannot read", path));
  const nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
  if (!j.is_object() || (j.contains("hyperparameters") && !j["hyperparameters"].is_object()))
    throw InputError(path + ": not a model's metadata (a JSON object with a hyperparameters object)");
  return j;
}

// A dataset with the ids and no pairs, in `spill`, for a model without one.
Dataset empty_dataset(const Ids& users, const Ids& videos, SpillDir& spill) {
  DatasetData d;
  d.user_ids = users.sorted;
  d.video_ids = videos.sorted;
  d.indptr.assign(users.sorted.size() + 1, 0);
  const std::string path = spill.next_file();
  write_dataset(d, path);
  return Dataset::open(path);
}

}  // namespace

ImportSummary import_model(ImportOptions o) {
  resolve(o);
  std::vector<NamedPath> inputs{{"--user-ids", o.user_ids}, {"--item-ids", o.item_ids}};
  for (const NamedPath& p : {NamedPath{"--user-factors", o.user_factors},
                             {"--item-factors", o.item_factors},
                             {"--implicit", o.implicit_npz},
                             {"--meta", o.meta},
                             {"--dataset", o.dataset}})
    if (!p.path.empty()) inputs.push_back(p);
  check_outputs(inputs, {{"-o", o.output}});
  OutputLock lock(o.output);

  Factors uf, vf;
  nlohmann::json hyper = nlohmann::json::object();
  ImportSummary s;
  if (o.implicit_npz.empty()) {
    uf = read_npy_file(o.user_factors);
    vf = read_npy_file(o.item_factors);
    s.factors_from = o.user_factors + ", " + o.item_factors;
  } else {
    const NpzReader npz(o.implicit_npz);
    uf = factors_of(npz.array("user_factors"), npz.name("user_factors"));
    vf = factors_of(npz.array("item_factors"), npz.name("item_factors"));
    hyper = implicit_hyperparameters(npz);
    s.factors_from = o.implicit_npz;
  }
  if (uf.cols != vf.cols || uf.cols == 0 || uf.cols > UINT32_MAX)
    throw InputError(uf.name + " has " + std::to_string(uf.cols) + " factors, " + vf.name + " " +
                     std::to_string(vf.cols) + ": they must agree (and be at least 1)");
  const Ids users = read_ids(o.user_ids, uf), videos = read_ids(o.item_ids, vf);
  nlohmann::json meta{{"tool", "vidrec " VIDREC_VERSION}};
  if (!o.meta.empty()) {
    const nlohmann::json m = read_meta(o.meta);
    if (m.contains("hyperparameters")) hyper.update(m["hyperparameters"]);
  }
  hyper["factors"] = uf.cols;
  meta["hyperparameters"] = hyper;
  meta["imported"] = {{"factors", s.factors_from}, {"user_ids", o.user_ids}, {"item_ids", o.item_ids}};

  std::optional<SpillDir> spill;
  Dataset ds;
  if (!o.dataset.empty()) {
    ds = Dataset::open(o.dataset);
    match_ids(
        users, o.user_ids, ds.n_users(), [&ds](uint32_t u) { return ds.user_id(u); }, o.dataset, "user");
    match_ids(
        videos, o.item_ids, ds.n_videos(), [&ds](uint32_t v) { return ds.video_id(v); }, o.dataset, "video");
    meta["dataset"] = {
        {"path", o.dataset}, {"users", ds.n_users()}, {"videos", ds.n_videos()}, {"pairs", ds.nnz()}};
  } else {
    spill.emplace(default_tmp_dir());
    ds = empty_dataset(users, videos, *spill);
  }
  const std::vector<float> user_rows = permuted(uf, users), video_rows = permuted(vf, videos);
  ModelData md;
  md.factors = uint32_t(uf.cols);
  md.user_factors = user_rows.data();
  md.video_factors = video_rows.data();
  md.meta = meta;
  write_model(ds, md, o.output);
  s.users = uint32_t(uf.rows);
  s.videos = uint32_t(vf.rows);
  s.factors = uint32_t(uf.cols);
  return s;
}

}  // namespace vidrec
