// SPDX-License-Identifier: MIT
#include "vidrec/serve.hpp"

#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <ctime>
#include <mutex>
#include <thread>

#include "vidrec/errors.hpp"

namespace vidrec {

void ServeConfig::validate() const {
  if (model_path.empty()) throw ConfigError("a model file is required (--model FILE)");
  if (host.empty()) throw ConfigError("--host must not be empty");
  if (port < 0 || port > 65535)
    throw ConfigError("--port must be between 0 and 65535, got " + std::to_string(port));
  if (threads < 1 || threads > 4096)
    throw ConfigError("--threads must be between 1 and 4096, got " + std::to_string(threads));
  if (max_body < 1) throw ConfigError("--max-body must be >= 1 byte");
  if (read_timeout.count() < 1)
    throw ConfigError("--read-timeout must be >= 1 second, got " + std::to_string(read_timeout.count()));
}

namespace {

// A whole line in one write(2), so lines from request threads never interleave.
void log_line(std::string line) {
  line += '\n';
  for (size_t done = 0; done < line.size();) {
    const ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n <= 0) return;  // stderr gone: logging must not take the server down
    done += size_t(n);
  }
}

std::string now_iso8601() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const long ms =
      long(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

void log_event(const nlohmann::ordered_json& event) {
  nlohmann::ordered_json line{{"time", now_iso8601()}};
  line.update(event);
  log_line(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

// What identifies the file at a path: a replacement by rename changes the
// inode, an in-place rewrite the size or mtime.
struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  long long mtime_ns = 0;
  bool operator==(const FileId& o) const {
    return dev == o.dev && ino == o.ino && size == o.size && mtime_ns == o.mtime_ns;
  }
};

bool file_id(const std::string& path, FileId& id) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  id = {st.st_dev, st.st_ino, st.st_size, (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec};
  return true;
}

// When the current request on this thread started (after its headers were
// read): httplib's logger runs on the same thread once the reply is sent.
thread_local std::chrono::steady_clock::time_point request_start;
thread_local bool request_started = false;

std::string http_error_message(int status, size_t max_body) {
  switch (status) {
    case 400:
      return "malformed HTTP request";
    case 413:
      return "request body larger than " + std::to_string(max_body) + " bytes";
    case 414:
      return "request URI too long";
    default:
      return "HTTP error " + std::to_string(status);
  }
}

}  // namespace

struct Server::Impl {
  explicit Impl(ServeConfig c) : cfg(std::move(c)) {}
  ServeConfig cfg;
  ModelSlot slot;
  Metrics metrics;
  Api api{slot, metrics};
  httplib::Server http;
  std::thread listener, watcher;
  std::atomic<bool> listener_done{false};
  int port = -1;
  std::mutex load_mutex;  // one load at a time (SIGHUP and the watcher)
  FileId tried;           // the file the last load attempt read
  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  bool stopping = false;

  void handle(const httplib::Request& req, httplib::Response& res) {
    const std::string content_type = req.get_header_value("Content-Type");
    const HttpRequest r{req.method, req.path, content_type, req.body};
    HttpReply reply = api.handle(r);
    res.status = reply.status;
    if (!reply.allow.empty()) res.set_header("Allow", reply.allow);
    res.set_header("Content-Type", reply.content_type);
    res.body = std::move(reply.body);
  }

  void log_request(const httplib::Request& req, const httplib::Response& res) {
    const double seconds =
        request_started
            ? std::chrono::duration<double>(std::chrono::steady_clock::now() - request_start).count()
            : 0.0;
    request_started = false;
    metrics.observe(Metrics::endpoint_of(req.path), res.status, seconds);
    if (!cfg.access_log) return;
    log_line(nlohmann::ordered_json{{"time", now_iso8601()},
                                    {"method", req.method},
                                    {"path", req.path},
                                    {"status", res.status},
                                    {"latency_ms", std::round(seconds * 1e6) / 1e3}}
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }

  // Loads the file at cfg.model_path; `first` rethrows instead of refusing.
  bool load(bool first) {
    std::lock_guard<std::mutex> lock(load_mutex);
    file_id(cfg.model_path, tried);  // before the open: a later change is seen by the next poll
    try {
      auto m = ServingModel::load(cfg.model_path);
      const Model& mm = m->model();
      char header[17], factors[17];
      std::snprintf(header, sizeof header, "%016llx", (unsigned long long)mm.header_checksum());
      std::snprintf(factors, sizeof factors, "%016llx", (unsigned long long)mm.factors_checksum());
      slot.set(std::move(m));
      metrics.model_loaded();
      log_event({{"event", "model_loaded"},
                 {"path", cfg.model_path},
                 {"header_checksum", header},
                 {"factors_checksum", factors},
                 {"users", mm.n_users()},
                 {"videos", mm.n_videos()}});
      return true;
    } catch (const std::exception& e) {
      if (first) throw;
      metrics.model_refused();
      log_event({{"event", "model_refused"}, {"path", cfg.model_path}, {"error", e.what()}});
      return false;
    }
  }

  void watch() {
    std::unique_lock<std::mutex> lock(stop_mutex);
    while (!stop_cv.wait_for(lock, cfg.watch_interval, [this] { return stopping; })) {
      lock.unlock();
      FileId now, last;
      {
        std::lock_guard<std::mutex> l(load_mutex);
        last = tried;
      }
      if (file_id(cfg.model_path, now) && !(now == last)) load(false);
      lock.lock();
    }
  }
};

Server::Server(ServeConfig cfg) : impl_(std::make_unique<Impl>(std::move(cfg))) { impl_->cfg.validate(); }

Server::~Server() { stop(); }

void Server::start() {
  Impl& s = *impl_;
  const unsigned threads = s.cfg.threads;
  s.http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.http.set_payload_max_length(s.cfg.max_body);
  s.http.set_read_timeout(s.cfg.read_timeout.count(), 0);
  s.http.set_write_timeout(s.cfg.read_timeout.count(), 0);
  s.http.set_keep_alive_timeout(s.cfg.keep_alive_timeout.count());
  // A long keep-alive saves a handshake per request; the idle timeout still
  // frees the thread of a client that went quiet.
  s.http.set_keep_alive_max_count(1000);
  s.http.set_tcp_nodelay(true);
  s.http.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    request_start = std::chrono::steady_clock::now();
    request_started = true;
    return httplib::Server::HandlerResponse::Unhandled;
  });
  auto handler = [&s](const httplib::Request& req, httplib::Response& res) { s.handle(req, res); };
  s.http.Get(".*", handler).Post(".*", handler).Put(".*", handler);
  s.http.Patch(".*", handler).Delete(".*", handler).Options(".*", handler);
  const size_t max_body = s.cfg.max_body;
  s.http.set_error_handler([max_body](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;  // our own error replies already have a body
    res.set_content(error_body(http_error_message(res.status, max_body)), "application/json");
  });
  s.http.set_logger(
      [&s](const httplib::Request& req, const httplib::Response& res) { s.log_request(req, res); });

  s.port = s.cfg.port == 0                               ? s.http.bind_to_any_port(s.cfg.host)
           : s.http.bind_to_port(s.cfg.host, s.cfg.port) ? s.cfg.port
                                                         : -1;
  if (s.port < 0)
    throw IoError("cannot listen on " + s.cfg.host + ":" + std::to_string(s.cfg.port) +
                  " (address in use, not local, or not permitted)");
  s.listener = std::thread([&s] {
    s.http.listen_after_bind();
    s.listener_done = true;
  });
  // stop() is a no-op until the accept loop runs, so wait for it.
  while (!s.http.is_running() && !s.listener_done) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  try {
    s.load(true);
  } catch (...) {
    stop();
    throw;
  }
  s.watcher = std::thread([&s] { s.watch(); });
}

bool Server::reload() { return impl_->load(false); }

void Server::stop() {
  Impl& s = *impl_;
  {
    std::lock_guard<std::mutex> lock(s.stop_mutex);
    s.stopping = true;
  }
  s.stop_cv.notify_all();
  if (s.watcher.joinable()) s.watcher.join();
  s.http.stop();
  if (s.listener.joinable()) s.listener.join();
}

int Server::port() const { return impl_->port; }
bool Server::running() const { return !impl_->listener_done && impl_->http.is_running(); }
const ModelSlot& Server::slot() const { return impl_->slot; }

namespace {
// Set by the signal handler, read by the loop; lock-free atomics are
// async-signal-safe. A handler rather than sigwait: threads started before
// us (OpenBLAS's pool) do not block the signals, and would otherwise take
// SIGTERM's default action and kill the process mid-request.
std::atomic<int> pending_reloads{0};
std::atomic<bool> stop_requested{false};
extern "C" void on_signal(int sig) {
  if (sig == SIGHUP)
    pending_reloads.fetch_add(1);
  else
    stop_requested.store(true);
}
}  // namespace

void serve_until_signal(const ServeConfig& cfg) {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_hup {
  }, old_term{}, old_int{};
  sigaction(SIGHUP, &sa, &old_hup);
  sigaction(SIGTERM, &sa, &old_term);
  sigaction(SIGINT, &sa, &old_int);
  struct Restore {
    struct sigaction hup, term, intr;
    ~Restore() {
      sigaction(SIGHUP, &hup, nullptr);
      sigaction(SIGTERM, &term, nullptr);
      sigaction(SIGINT, &intr, nullptr);
    }
  } restore{old_hup, old_term, old_int};
  stop_requested = false;
  pending_reloads = 0;

  Server server(cfg);
  server.start();
  log_event({{"event", "listening"}, {"host", cfg.host}, {"port", server.port()}, {"model", cfg.model_path}});
  while (!stop_requested && server.running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (pending_reloads.exchange(0) > 0) server.reload();
  }
  server.stop();
  log_event({{"event", "stopped"}});
}

}  // namespace vidrec
