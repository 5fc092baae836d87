// SPDX-License-Identifier: MIT
#include "vidrec/serve/sagemaker.hpp"

#include <stdlib.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>

#include "vidrec/base/cpus.hpp"
#include "vidrec/base/errors.hpp"
#include "vidrec/dataset/dataset.hpp"
#include "vidrec/ingest/prepare.hpp"
#include "vidrec/io/paths.hpp"
#include "vidrec/options/options.hpp"
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

// Every data file, whatever its name (Spark and Athena write part-00000
// without an extension; prepare tells gzip by its magic bytes), but the
// markers and checksums those writers leave beside them: hidden files
// (.part-00000.crc), _SUCCESS, _committed_*, and *.crc.
bool is_log_file(const fs::path& p) {
  const std::string name = p.filename().string();
  if (name.empty() || name[0] == '.' || name[0] == '_') return false;
  return !(name.size() >= 4 && name.compare(name.size() - 4, 4, ".crc") == 0);
}

constexpr const char* kValidationChannel = "validation";

std::vector<std::string> channel_files(const fs::path& channel) {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(channel))
    if (e.is_regular_file() && is_log_file(e.path())) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  if (files.empty())
    throw InputError(channel.string() +
                     ": no data files in the channel (hidden, _* and *.crc files are skipped)");
  return files;
}

std::vector<std::string> training_files(const fs::path& data) {
  std::error_code ec;
  if (!fs::is_directory(data, ec))
    throw InputError(data.string() + ": no input data channel (directory missing)");
  fs::path channel = data / "training";
  if (!fs::is_directory(channel, ec)) {
    std::vector<fs::path> channels;
    for (const auto& e : fs::directory_iterator(data))
      if (e.is_directory() && e.path().filename() != kValidationChannel) channels.push_back(e.path());
    if (channels.empty()) throw InputError(data.string() + ": no input data channel");
    channel = *std::min_element(channels.begin(), channels.end());
  }
  return channel_files(channel);
}

// The validation channel's files; none without the channel.
std::vector<std::string> validation_files(const fs::path& data) {
  std::error_code ec;
  const fs::path channel = data / kValidationChannel;
  return fs::is_directory(channel, ec) ? channel_files(channel) : std::vector<std::string>{};
}

// Before training: a validation set sharing no user with the training data
// would be refused by evaluate only once the model exists.
void check_validation_users(const std::string& training, const std::string& validation,
                            const fs::path& channel) {
  // Lazy: only the training ids are read, and the training reads it whole anyway.
  const Dataset train = Dataset::open(training, Dataset::Verify::Lazy), val = Dataset::open(validation);
  const CsrView rows = val.user_items();
  for (uint32_t u = 0; u < val.n_users(); ++u)
    if (rows.row_begin(u) != rows.row_end(u) && train.find_user(val.user_id(u))) return;
  throw InputError(channel.string() + ": none of its " + std::to_string(val.n_users()) +
                   " users is in the training data, so the model cannot be evaluated on it");
}

// A scratch directory for the intermediate dataset, removed on exit: private
// for one process, or the fixed path every host of a multi-host job uses.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "vidrec-sagemaker-XXXXXX").string();
    if (!::mkdtemp(tmpl.data()))
      throw IoError("cannot create a temporary directory in " + fs::temp_directory_path().string());
    path = tmpl;
  }
  explicit ScratchDir(fs::path fixed) : path(std::move(fixed)) {
    std::error_code ec;
    fs::create_directories(path, ec);
    if (ec) throw IoError(path.string() + ": cannot create: " + ec.message());
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// A whole small file (a JSON config), refusing FIFOs and devices.
std::string read_small_file(const fs::path& path) {
  require_regular_file(path.string());
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) throw IoError(sys_error("cannot read", path.string()));
  return text;
}

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// The launch plan's inputs besides the hyperparameters: what this host is
// and has.
LaunchInputs launch_inputs(const fs::path& root, const SageMakerHyperparameters& hp, bool progress) {
  LaunchInputs in;
  const fs::path rc_path = root / "input" / "config" / "resourceconfig.json";
  std::error_code ec;
  if (fs::exists(rc_path, ec))
    in.resources = parse_resource_config(read_small_file(rc_path), rc_path.string());
  in.processes_per_host = hp.processes_per_host;
  in.als = hp.als;
  in.progress = progress;
  in.vidrec = fs::read_symlink("/proc/self/exe", ec).string();
  if (ec) throw IoError("/proc/self/exe: cannot read: " + ec.message());
  in.mpirun = env_or("VIDREC_MPIRUN", "mpirun");
  in.dataset = shared_dataset_path(fs::temp_directory_path().string(), root.string());
  in.model = (root / "model" / "model.vrm").string();
  in.cores = available_cpus();  // the container's quota, not the host's cores
  for (const char* name : {"PATH", "LD_LIBRARY_PATH"})
    if (std::getenv(name)) in.exported_env.push_back(name);
  return in;
}

// The reason SageMaker shows for a failed job: the status and the last
// lines of mpirun's stderr, within the ~1 KB it displays.
std::string job_failure(const JobResult& job) {
  std::string tail = job.stderr_tail;
  while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
  constexpr size_t kShown = 800;
  if (tail.size() > kShown) {
    tail.erase(0, tail.size() - kShown);
    const size_t nl = tail.find('\n');
    if (nl != std::string::npos && nl + 1 < tail.size()) tail.erase(0, nl + 1);
  }
  return "training job failed: mpirun exited with status " + std::to_string(job.status) +
         (tail.empty() ? std::string() : "; its stderr ends:\n" + tail);
}

std::string sshd_program() { return env_or("VIDREC_SSHD", "/usr/sbin/sshd"); }

void say(bool progress, const std::string& line) {
  if (progress) std::fprintf(stderr, "sagemaker train: %s\n", line.c_str());
}

// Leader and workers of a multi-process job, once this host has prepared
// the data.
void run_distributed(SageMakerTrainReport& rep, const SageMakerHyperparameters& hp, bool progress) {
  const LaunchPlan& plan = rep.plan;
  const std::string ssh = env_or("VIDREC_SSH", "ssh");
  if (plan.role == LaunchPlan::Role::Worker) {
    // Only now: the leader launches once every worker answers ssh, and the
    // ranks need the prepared data.
    start_sshd(sshd_program());
    say(progress, "worker " + plan.current_host + ": data prepared, sshd started, waiting for the job of " +
                      plan.leader);
    rep.worker_end = wait_for_job_end(plan.current_host, plan.leader, ssh, hp.mpi_wait_seconds);
  } else {
    if (!plan.workers.empty()) wait_for_ssh(plan.workers, ssh, hp.mpi_wait_seconds);
    std::string cmd;
    for (const std::string& a : plan.mpirun_argv) cmd += (cmd.empty() ? "" : " ") + a;
    say(progress, "leader " + plan.current_host + ": " + cmd);
    const JobResult job = run_job(plan.mpirun_argv);
    rep.job_status = job.status;
    if (job.status != 0) rep.job_failure = job_failure(job);
  }
  // Every rank was given the model path; no lock file belongs in an artifact.
  std::error_code ec;
  fs::remove(rep.model_path + ".lock", ec);
}

}  // namespace

SageMakerHyperparameters parse_hyperparameters(const nlohmann::json& h, const std::string& source) {
  const std::string in = source.empty() ? "" : " in " + source;
  if (!h.is_object()) throw ConfigError("hyperparameters.json must hold a JSON object");
  SageMakerHyperparameters out;
  for (const auto& [key, v] : h.items()) {
    // SageMaker's own keys (sagemaker_*, and _tuning_objective_metric and
    // the like from tuning jobs) are not ours.
    if (key.rfind("sagemaker_", 0) == 0 || key.rfind('_', 0) == 0) continue;
    const Option* o = find_option(key, scope::SageMaker);
    if (!o)
      throw ConfigError("unknown hyperparameter '" + key + "'" + in + did_you_mean(key, scope::SageMaker));
    o->set(out, text_of(key, v), "hyperparameter " + key);
  }
  return out;
}

SageMakerTrainReport sagemaker_train(const std::string& root, bool progress) {
  const fs::path r(root);
  const fs::path hp_path = r / "input" / "config" / "hyperparameters.json";
  SageMakerHyperparameters hp;
  std::error_code ec;
  if (fs::exists(hp_path, ec)) {  // SageMaker omits it when no hyperparameter was set
    nlohmann::json h;
    try {
      h = nlohmann::json::parse(read_small_file(hp_path));
    } catch (const nlohmann::json::exception& e) {
      throw ConfigError(hp_path.string() + ": not valid JSON: " + e.what());
    }
    hp = parse_hyperparameters(h, hp_path.string());
  }
  hp.als.validate();  // before any data is read
  hp.weighting.validate();
  SageMakerTrainReport rep;
  rep.plan = plan_launch(launch_inputs(r, hp, progress));
  if (rep.plan.role != LaunchPlan::Role::Single && hp.weighting.active())
    throw ConfigError(
        "weighting and half_life need the whole matrix on one process: not supported with "
        "several instances or processes_per_host > 1 yet");
  PrepareConfig prep = hp.prepare;
  prep.progress = progress;
  prep.inputs = rep.inputs = training_files(r / "input" / "data");
  // Workers train only; the leader evaluates once the job has ended.
  if (rep.plan.role != LaunchPlan::Role::Worker)
    rep.validation_inputs = validation_files(r / "input" / "data");
  const bool single = rep.plan.role == LaunchPlan::Role::Single;
  std::optional<ScratchDir> scratch;
  if (single)
    scratch.emplace();
  else
    scratch.emplace(fs::path(rep.plan.dataset).parent_path());
  prep.output = single ? (scratch->path / "interactions.vrd").string() : rep.plan.dataset;
  // SageMaker uploads output/data as output.tar.gz: what prepare kept and refused.
  const fs::path out_data = r / "output" / "data";
  fs::create_directories(out_data, ec);
  if (ec) throw IoError(out_data.string() + ": cannot create: " + ec.message());
  prep.summary_json_path = (out_data / "prepare_summary.json").string();
  prep.rejects_path = (out_data / "rejects.csv").string();
  prep.validate();

  rep.model_path = (r / "model" / "model.vrm").string();
  fs::create_directories(r / "model", ec);
  if (ec) throw IoError((r / "model").string() + ": cannot create: " + ec.message());
  if (rep.plan.role == LaunchPlan::Role::Leader && !rep.plan.workers.empty())
    // Before preparing: workers that saw it answer notice if this host dies
    // while preparing. Open MPI may also reach the leader's own ranks over
    // ssh, when the container's hostname is not its SageMaker name.
    start_sshd(sshd_program());
  // The locks guard cron runs; in the job's output.tar.gz they would be clutter.
  const auto drop_locks = [&] {
    for (const std::string& p : {prep.summary_json_path, prep.rejects_path}) fs::remove(p + ".lock", ec);
  };
  try {
    run_prepare(prep);
  } catch (...) {
    drop_locks();  // the summary says why it failed
    throw;
  }
  drop_locks();
  // Validation logs are judged as they come: no pruning, the training's
  // reject-rate limit.
  PrepareConfig val;
  if (!rep.validation_inputs.empty()) {
    val.inputs = rep.validation_inputs;
    val.output = (fs::path(prep.output).parent_path() / "validation.vrd").string();
    val.max_reject_rate = prep.max_reject_rate;
    val.progress = progress;
    run_prepare(val);
    check_validation_users(prep.output, val.output, r / "input" / "data" / kValidationChannel);
  }
  EvaluateStageConfig eval;
  eval.model = rep.model_path;
  eval.test = val.output;
  eval.eval.k = kTuningK;
  eval.eval.threads = hp.als.threads;
  if (!single) {
    run_distributed(rep, hp, progress);
    if (rep.plan.role == LaunchPlan::Role::Leader && rep.job_status == 0 && !rep.validation_inputs.empty())
      rep.validation = run_evaluate(eval);
    return rep;
  }
  TrainConfig train;
  train.als = hp.als;
  train.weighting = hp.weighting;
  train.ann = hp.ann;
  train.progress = progress;
  train.dataset = prep.output;
  train.output = rep.model_path;
  rep.train = run_train(train);
  // The lock guards cron runs; in a SageMaker artifact it would be clutter.
  fs::remove(train.output + ".lock", ec);
  if (!rep.validation_inputs.empty()) rep.validation = run_evaluate(eval);
  return rep;
}

std::string tuning_metric_lines(const EvaluateReport& r) {
  const std::string at = "@" + std::to_string(r.k);
  std::string out;
  auto line = [&](const std::string& name, double value) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "=%.6f\n", value);
    out += "validation:" + name + buf;
  };
  line("ndcg" + at, r.model.ndcg);
  line("precision" + at, r.model.precision);
  line("recall" + at, r.model.recall);
  line("map" + at, r.model.map);
  if (r.model.auc_users) line("auc", r.model.auc);
  return out;
}

void write_failure(const std::string& root, const std::string& reason) {
  std::error_code ec;
  const fs::path dir = fs::path(root) / "output";
  fs::create_directories(dir, ec);
  std::ofstream(dir / "failure") << reason << "\n";
}

int sagemaker_port() {
  const char* p = std::getenv("SAGEMAKER_BIND_TO_PORT");
  if (!p || !*p) return 8080;
  const std::string s = p;
  int port = 0;
  const auto res = std::from_chars(s.data(), s.data() + s.size(), port);
  if (res.ec != std::errc() || res.ptr != s.data() + s.size() || port < 1 || port > 65535)
    throw ConfigError("SAGEMAKER_BIND_TO_PORT must be a port number, got '" + s + "'");
  return port;
}

ServeConfig sagemaker_serve_config(const std::string& root) {
  ServeConfig c;
  c.model_path = (fs::path(root) / "model" / "model.vrm").string();
  c.host = "0.0.0.0";
  c.port = sagemaker_port();
  c.max_body = size_t(6) << 20;  // SageMaker real-time endpoints accept at most 6 MB
  // A transform job sets no query string, but may set the environment.
  if (const char* k = std::getenv("VIDREC_CSV_K"); k && *k) {
    try {
      c.csv_k = parse_k_text(k);
    } catch (const InputError&) {
      throw ConfigError("VIDREC_CSV_K must be an integer between 1 and " + std::to_string(kMaxK) + ", got '" +
                        std::string(k) + "'");
    }
  }
  return c;
}

}  // namespace vidrec
