// SPDX-License-Identifier: MIT
#include "vidrec/serve/sagemaker.hpp"

#include <stdlib.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "vidrec/base/errors.hpp"
#include "vidrec/ingest/prepare.hpp"
#include "vidrec/io/paths.hpp"
#include "vidrec/serve/requests.hpp"

namespace vidrec {

namespace fs = std::filesystem;

std::string sagemaker_root(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("SM_ROOT");
  return env && *env ? env : "/opt/ml";
}

namespace {

// A hyperparameter's text: SageMaker passes every value as a string.
std::string text_of(const std::string& key, const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return v.dump();
  throw ConfigError("hyperparameter " + key + " must be a string, got " + shown(v));
}

template <class T>
T number(const std::string& key, const nlohmann::json& v) {
  const std::string s = text_of(key, v);
  T out{};
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size())
    throw ConfigError("hyperparameter " + key + " must be a number, got '" + s + "'");
  return out;
}

template <class T>
T count(const std::string& key, const nlohmann::json& v) {
  const auto n = number<long long>(key, v);
  if (n < 0 || static_cast<unsigned long long>(n) > std::numeric_limits<T>::max())
    throw ConfigError("hyperparameter " + key + " must be between 0 and " +
                      std::to_string(std::numeric_limits<T>::max()) + ", got " + std::to_string(n));
  return T(n);
}

std::string choice(const std::string& key, const nlohmann::json& v,
                   std::initializer_list<const char*> allowed) {
  const std::string s = text_of(key, v);
  for (const char* a : allowed)
    if (s == a) return s;
  std::string list;
  for (const char* a : allowed) list += (list.empty() ? "" : " or ") + std::string(a);
  throw ConfigError("hyperparameter " + key + " must be " + list + ", got '" + s + "'");
}

void apply_hyperparameters(const nlohmann::json& h, AlsConfig& als, PrepareConfig& prep) {
  if (!h.is_object()) throw ConfigError("hyperparameters.json must hold a JSON object");
  for (const auto& [key, v] : h.items()) {
    if (key.rfind("sagemaker_", 0) == 0) continue;
    if (key == "factors")
      als.factors = count<uint32_t>(key, v);
    else if (key == "iterations")
      als.iterations = count<uint32_t>(key, v);
    else if (key == "regularization")
      als.regularization = number<float>(key, v);
    else if (key == "alpha")
      als.alpha = number<float>(key, v);
    else if (key == "epsilon")
      als.epsilon = number<float>(key, v);
    else if (key == "confidence")
      als.confidence = choice(key, v, {"linear", "log"}) == "log" ? AlsConfig::Confidence::Log
                                                                  : AlsConfig::Confidence::Linear;
    else if (key == "solver")
      als.solver = choice(key, v, {"cg", "cholesky"}) == "cholesky" ? AlsConfig::Solver::Cholesky
                                                                    : AlsConfig::Solver::CG;
    else if (key == "cg_steps")
      als.cg_steps = count<uint32_t>(key, v);
    else if (key == "threads")
      als.threads = count<unsigned>(key, v);
    else if (key == "seed")
      als.seed = count<uint64_t>(key, v);
    else if (key == "min_user_events")
      prep.prune.min_user_events = count<uint64_t>(key, v);
    else if (key == "min_video_events")
      prep.prune.min_video_events = count<uint64_t>(key, v);
    else if (key == "max_reject_rate")
      prep.max_reject_rate = number<double>(key, v);
    else
      throw ConfigError("unknown hyperparameter '" + key + "'");
  }
}

bool is_log_file(const fs::path& p) {
  const std::string name = p.filename().string();
  auto ends = [&](const std::string& suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends(".csv") || ends(".csv.gz");
}

std::vector<std::string> training_files(const fs::path& data) {
  std::error_code ec;
  if (!fs::is_directory(data, ec))
    throw InputError(data.string() + ": no input data channel (directory missing)");
  fs::path channel = data / "training";
  if (!fs::is_directory(channel, ec)) {
    std::vector<fs::path> channels;
    for (const auto& e : fs::directory_iterator(data))
      if (e.is_directory()) channels.push_back(e.path());
    if (channels.empty()) throw InputError(data.string() + ": no input data channel");
    channel = *std::min_element(channels.begin(), channels.end());
  }
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(channel))
    if (e.is_regular_file() && is_log_file(e.path())) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw InputError(channel.string() + ": no .csv or .csv.gz files in the channel");
  return files;
}

// A private scratch directory for the intermediate dataset, removed on exit.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "vidrec-sagemaker-XXXXXX").string();
    if (!::mkdtemp(tmpl.data()))
      throw IoError("cannot create a temporary directory in " + fs::temp_directory_path().string());
    path = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

}  // namespace

SageMakerTrainReport sagemaker_train(const std::string& root, bool progress) {
  const fs::path r(root);
  const fs::path hp_path = r / "input" / "config" / "hyperparameters.json";
  TrainConfig train;
  PrepareConfig prep;
  std::error_code ec;
  if (fs::exists(hp_path, ec)) {  // SageMaker omits it when no hyperparameter was set
    require_regular_file(hp_path.string());  // not a FIFO or device read forever
    std::ifstream in(hp_path);
    nlohmann::json h;
    try {
      h = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw ConfigError(hp_path.string() + ": not valid JSON: " + e.what());
    }
    apply_hyperparameters(h, train.als, prep);
  }
  train.als.validate();  // before any data is read
  prep.progress = train.progress = progress;
  prep.inputs = training_files(r / "input" / "data");
  const ScratchDir scratch;
  prep.output = (scratch.path / "interactions.vrd").string();
  prep.validate();

  fs::create_directories(r / "model", ec);
  if (ec) throw IoError((r / "model").string() + ": cannot create: " + ec.message());
  run_prepare(prep);
  train.dataset = prep.output;
  train.output = (r / "model" / "model.vrm").string();
  SageMakerTrainReport rep;
  rep.inputs = prep.inputs;
  rep.model_path = train.output;
  rep.train = run_train(train);
  // The lock guards cron runs; in a SageMaker artifact it would be clutter.
  fs::remove(train.output + ".lock", ec);
  return rep;
}

void write_failure(const std::string& root, const std::string& reason) {
  std::error_code ec;
  const fs::path dir = fs::path(root) / "output";
  fs::create_directories(dir, ec);
  std::ofstream(dir / "failure") << reason << "\n";
}

ServeConfig sagemaker_serve_config(const std::string& root) {
  ServeConfig c;
  c.model_path = (fs::path(root) / "model" / "model.vrm").string();
  c.host = "0.0.0.0";
  c.port = 8080;
  if (const char* p = std::getenv("SAGEMAKER_BIND_TO_PORT"); p && *p) {
    const std::string s = p;
    int port = 0;
    const auto res = std::from_chars(s.data(), s.data() + s.size(), port);
    if (res.ec != std::errc() || res.ptr != s.data() + s.size() || port < 1 || port > 65535)
      throw ConfigError("SAGEMAKER_BIND_TO_PORT must be a port number, got '" + s + "'");
    c.port = port;
  }
  c.max_body = size_t(6) << 20;  // SageMaker real-time endpoints accept at most 6 MB
  return c;
}

}  // namespace vidrec
