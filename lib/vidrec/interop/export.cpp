// SPDX-License-Identifier: MIT
#include "vidrec/interop/export.hpp"

#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "vidrec/base/errors.hpp"
#include "vidrec/dataset/dataset.hpp"
#include "vidrec/interop/npz.hpp"
#include "vidrec/io/atomic_file.hpp"
#include "vidrec/io/container.hpp"
#include "vidrec/model/model.hpp"

namespace vidrec {

namespace {

template <class Ids>
void write_ids(const std::string& path, const std::string& source, const char* what, uint32_t n,
               const Ids& ids) {
  AtomicFile out(path);
  for (uint32_t i = 0; i < n; ++i) {
    const std::string_view id = ids.at(i);
    if (id.find_first_of("\r\n") != std::string_view::npos)
      throw InputError(source + ": " + what + " id " + std::to_string(i) +
                       " holds a line break, which one line of " + path + " cannot hold");
    out.write(id.data(), id.size());
    out.write("\n", 1);
  }
  out.commit();
}

void write_npy(const std::string& path, const std::string& descr, const std::vector<uint64_t>& shape,
               const void* data, size_t size) {
  AtomicFile out(path);
  const std::string header = npy_bytes(descr, shape, nullptr, 0);
  out.write(header.data(), header.size());
  out.write(data, size);
  out.commit();
}

// A hyperparameter from the model's meta, or `fallback` when absent.
template <class T>
T hyper(const nlohmann::json& h, const char* key, T fallback) {
  const auto it = h.find(key);
  return it != h.end() && it->is_number() ? it->get<T>() : fallback;
}

template <class T>
std::string_view raw(const T* p, uint64_t n) {
  return std::string_view(reinterpret_cast<const char*>(p), n * sizeof(T));
}

// implicit's save(): its attributes, None-valued ones left out; the factors
// are borrowed from the mapped model.
NpzMembers implicit_members(const Model& m) {
  const uint64_t users = m.n_users(), videos = m.n_videos(), f = m.factors();
  const nlohmann::json h = m.meta().value("hyperparameters", nlohmann::json::object());
  NpzMembers members{
      {"user_factors", npy_bytes("<f4", {users, f}, nullptr, 0), raw(m.user_factors(), users * f)},
      {"item_factors", npy_bytes("<f4", {videos, f}, nullptr, 0), raw(m.video_factors(), videos * f)},
      {"regularization", npy_scalar(hyper<double>(h, "regularization", 0.01))},
      {"factors", npy_scalar(int64_t(f))},
      {"num_threads", npy_scalar(int64_t(0))},
      {"iterations", npy_scalar(hyper<int64_t>(h, "iterations", 15))},
      {"use_native", npy_bool(true)},
      {"use_cg", npy_bool(h.value("solver", std::string("cg")) == "cg")},
      {"cg_steps", npy_scalar(hyper<int64_t>(h, "cg_steps", 3))},
      {"calculate_training_loss", npy_bool(false)},
      {"dtype", npy_unicode("float32")}};
  if (h.contains("seed") && h["seed"].is_number_unsigned() &&
      h["seed"].get<uint64_t>() <= uint64_t(std::numeric_limits<int64_t>::max()))
    members.push_back({"random_state", npy_scalar(h["seed"].get<int64_t>())});
  members.push_back({"alpha", npy_scalar(hyper<double>(h, "alpha", 1.0))});
  return members;
}

std::vector<std::string> export_model(const Model& m, const std::filesystem::path& dir, ExportFormat format) {
  const uint64_t users = m.n_users(), videos = m.n_videos(), f = m.factors();
  const std::string uf = dir / "user_factors.npy", vf = dir / "item_factors.npy", ui = dir / "user_ids.txt",
                    vi = dir / "item_ids.txt", npz = dir / "model.npz", meta = dir / "meta.json";
  write_ids(ui, m.path(), "user", m.n_users(), m.user_table());
  write_ids(vi, m.path(), "video", m.n_videos(), m.video_table());
  std::vector<std::string> written{ui, vi};
  if (format != ExportFormat::Npz) {
    write_npy(uf, "<f4", {users, f}, m.user_factors(), users * f * sizeof(float));
    write_npy(vf, "<f4", {videos, f}, m.video_factors(), videos * f * sizeof(float));
    written.insert(written.end(), {uf, vf});
  }
  if (format != ExportFormat::Npy) {
    write_npz(npz, implicit_members(m), false);
    written.push_back(npz);
  }
  AtomicFile out(meta);
  const std::string text = m.meta().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  out.write(text.data(), text.size());
  out.commit();
  written.push_back(meta);
  return written;
}

// scipy.sparse.save_npz of a CSR matrix: indices, indptr, format, shape,
// data, with int32 indices when they fit (as SciPy does). Arrays whose bytes
// already are NumPy's are borrowed from the mapped dataset (columns below
// 2^31 as <i4, offsets as <i8); the others are converted, wide indices into
// `wide`, which must outlive the members.
NpzMembers csr_members(const CsrView& m, bool narrow, std::vector<int64_t>& wide) {
  const uint64_t nnz = m.nnz(), rows = uint64_t(m.rows) + 1;
  const std::vector<int64_t> shape{m.rows, m.cols};
  NpzMember indices{"indices", npy_bytes(narrow ? "<i4" : "<i8", {nnz}, nullptr, 0)}, indptr{"indptr", ""};
  if (narrow) {
    indices.body = raw(m.indices, nnz);
    const std::vector<int32_t> ptr(m.indptr, m.indptr + rows);
    indptr.head = npy_bytes("<i4", {rows}, ptr.data(), rows * sizeof(int32_t));
  } else {
    wide.assign(m.indices, m.indices + nnz);
    indices.body = raw(wide.data(), nnz);
    indptr.head = npy_bytes("<i8", {rows}, nullptr, 0);
    indptr.body = raw(m.indptr, rows);
  }
  return {std::move(indices),
          std::move(indptr),
          {"format", npy_bytes_scalar("csr")},
          {"shape", npy_bytes("<i8", {2}, shape.data(), 16)},
          {"data", npy_bytes("<f4", {nnz}, nullptr, 0), raw(m.values, nnz)}};
}

std::vector<std::string> export_dataset(const Dataset& ds, const std::filesystem::path& dir) {
  const std::string mat = dir / "user_items.npz", ui = dir / "user_ids.txt", vi = dir / "item_ids.txt";
  const CsrView m = ds.user_items();
  const uint64_t int32_max = uint64_t(std::numeric_limits<int32_t>::max());
  const bool narrow = m.nnz() <= int32_max && m.rows <= int32_max && m.cols <= int32_max;
  write_ids(ui, ds.path(), "user", ds.n_users(), ds.user_table());
  // The dataset has no video IdView accessor; its ids one at a time.
  struct VideoIds {
    const Dataset& d;
    std::string_view at(uint32_t v) const { return d.video_id(v); }
  };
  write_ids(vi, ds.path(), "video", ds.n_videos(), VideoIds{ds});
  std::vector<int64_t> wide;
  write_npz(mat, csr_members(m, narrow, wide), true);
  return {ui, vi, mat};
}

}  // namespace

std::vector<std::string> export_file(const std::string& input, const std::string& dir, ExportFormat format) {
  auto file = open_container_file(input);
  const std::string magic = sniff_magic(*file);
  if (magic != "VRMD" && magic != "VRDS")
    throw FormatError(input + ": not a vidrec model (.vrm) or dataset (.vrd) file");
  if (magic == "VRDS" && format == ExportFormat::Npy)
    throw ConfigError(input + ": a dataset exports as a SciPy .npz only (--format npz or all)");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw IoError(dir + ": cannot create the directory: " + ec.message());
  if (magic == "VRMD") return export_model(Model::from_file(file), dir, format);
  return export_dataset(Dataset::from_file(file), dir);
}

}  // namespace vidrec
