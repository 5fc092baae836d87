// SPDX-License-Identifier: MIT
#include "vidrec/serve/serve.hpp"

#include <netdb.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <thread>
#include <utility>

#include "vidrec/base/errors.hpp"
#include "vidrec/base/parallel.hpp"
#include "vidrec/serve/log.hpp"
#include "vidrec/serve/mhd.hpp"

namespace vidrec {

constexpr int kReloadNice = 10;  // the watcher's nice above the event loops'

void ServeConfig::validate() const {
  if (model_path.empty()) throw ConfigError("a model file is required (--model FILE)");
  if (host.empty()) throw ConfigError("--host must not be empty");
  if (port < 0 || port > 65535)
    throw ConfigError("--port must be between 0 and 65535, got " + std::to_string(port));
  if (threads > 256) throw ConfigError("--threads must be between 0 and 256, got " + std::to_string(threads));
  if (max_connections < 1 || max_connections > 1000000)
    throw ConfigError("--max-connections must be between 1 and 1000000, got " +
                      std::to_string(max_connections));
  if (max_body < 1) throw ConfigError("--max-body must be >= 1 byte");
  if (csv_k < 1 || csv_k > kMaxK)
    throw ConfigError("the CSV k must be between 1 and " + std::to_string(kMaxK) + ", got " +
                      std::to_string(csv_k));
  if (read_timeout.count() < 1)
    throw ConfigError("--read-timeout must be >= 1 second, got " + std::to_string(read_timeout.count()));
}

namespace {

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

}  // namespace

// One request, from its request line (MHD's URI log hook) to its completion
// notice: headers, the body as it arrives, then the reply.
struct Exchange {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::string method, path, content_type, body, accept;
  std::optional<std::string> k;  // the query string's
  bool headers_read = false;
  bool too_large = false;
  bool too_slow = false;
  int status = 0;  // of the reply we queued; 0 if none was (MHD's own, client gone, timeout)
  Api::Started started;
  std::optional<HttpReply> scored;  // set before the connection is resumed
};

struct Server::Impl {
  // One event loop: an MHD daemon driven by its own thread through MHD's epoll
  // descriptor. A request that needs scoring is suspended when its body is in;
  // after each round of events the loop scores all of them in one batch
  // (score_jobs) and resumes them. Under load a round holds many requests, so
  // a pass over the videos is shared; a lone request is scored at once.
  struct Loop {
    Impl* server = nullptr;
    MHD_Daemon* daemon = nullptr;
    std::vector<std::pair<Exchange*, MHD_Connection*>> waiting;
    std::thread thread;
  };

  explicit Impl(ServeConfig c) : cfg(std::move(c)) {}
  ServeConfig cfg;
  ModelSlot slot;
  Metrics metrics;
  Api api{slot, metrics, cfg.csv_k};
  std::vector<std::unique_ptr<Loop>> loops;
  std::thread watcher;
  int port = -1;
  std::mutex load_mutex;  // one load at a time (SIGHUP and the watcher)
  FileId tried;           // the file the last load attempt read
  std::mutex stop_mutex;
  std::condition_variable stop_cv;
  bool stopping = false;
  bool reload_asked = false;  // request_reload(): the watcher loads at its next wake
  std::atomic<bool> draining{false};  // loops stop accepting and finish what they have
  std::atomic<size_t> in_flight{0};   // requests begun, not yet complete

  static MHD_Result on_request(void* cls, MHD_Connection* c, const char* url, const char* method,
                               const char* /*version*/, const char* upload, size_t* upload_size, void** ctx) {
    Loop& loop = *static_cast<Loop*>(cls);
    Impl& s = *loop.server;
    auto* x = static_cast<Exchange*>(*ctx);
    if (!x) *ctx = x = static_cast<Exchange*>(on_request_line(cls, url, c));  // MHD always logs first
    if (!x->headers_read) {
      x->headers_read = true;
      x->method = method;
      x->path = url;
      const char* type = mhd().lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
      x->content_type = type ? type : "";
      const char* accept = mhd().lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
      if (accept) x->accept = accept;
      if (const char* k = mhd().lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "k")) x->k = k;
      // A declared length over the limit is refused before the body is read
      // (MHD then closes the connection instead of reading the rest).
      const char* length = mhd().lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
      if (length && std::strtoull(length, nullptr, 10) > s.cfg.max_body) return s.too_large(c, *x);
      return MHD_YES;
    }
    if (*upload_size > 0) {  // a piece of the body
      // The whole body within read_timeout of the headers: a client that
      // trickles bytes to dodge the silence timeout is cut off all the same.
      if (std::chrono::steady_clock::now() - x->start > s.cfg.read_timeout) {
        x->too_slow = true;
        return MHD_NO;
      }
      if (!x->too_large && x->body.size() + *upload_size > s.cfg.max_body) {
        x->too_large = true;
        std::string().swap(x->body);
      }
      if (!x->too_large) x->body.append(upload, *upload_size);
      *upload_size = 0;
      return MHD_YES;
    }
    if (x->scored) return s.send(c, *x, *x->scored);  // resumed after its round was scored
    if (x->too_large) return s.too_large(c, *x);
    HttpRequest req{x->method, x->path, x->content_type, x->body, x->accept, std::nullopt};
    if (x->k) req.k = *x->k;
    x->started = s.api.start(req);
    if (!x->started.deferred) return s.send(c, *x, x->started.reply);
    mhd().suspend_connection(c);
    loop.waiting.emplace_back(x, c);
    return MHD_YES;
  }

  // Scores the requests suspended in this round together, then resumes them.
  void score_round(Loop& loop) {
    std::vector<ScoringJob*> jobs;
    for (const auto& [x, c] : loop.waiting) {
      for (ScoringJob& job : Api::jobs(*x->started.deferred)) jobs.push_back(&job);
    }
    score_jobs(jobs.data(), jobs.size());
    for (const auto& [x, c] : loop.waiting) {
      x->scored = api.finish(*x->started.deferred);
      x->started.deferred.reset();  // lets go of the model now
      mhd().resume_connection(c);
    }
    loop.waiting.clear();
  }

  void run(Loop& loop) {
    // MHD's own epoll set is nested in ours, not waited on directly: its
    // connections are edge-triggered, and an event taken by our wait would
    // be lost to MHD_run.
    const MHD_DaemonInfo* info = mhd().get_daemon_info(loop.daemon, MHD_DAEMON_INFO_EPOLL_FD);
    const int epoll = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll >= 0 && info) {
      epoll_event nested{};
      nested.events = EPOLLIN;
      ::epoll_ctl(epoll, EPOLL_CTL_ADD, info->epoll_fd, &nested);
    }
    bool quiet = false, resumed = false;
    std::chrono::steady_clock::time_point deadline{};
    for (;;) {
      if (draining && !quiet) {
        // No new connections; requests begun get their answers (bounded: a
        // client that stopped reading is cut off by the connection timeout).
        const MHD_socket listener = mhd().quiesce_daemon(loop.daemon);
        if (listener != MHD_INVALID_SOCKET) ::close(listener);
        quiet = true;
        deadline = std::chrono::steady_clock::now() + cfg.read_timeout + std::chrono::seconds(5);
      }
      if (quiet && (in_flight == 0 || std::chrono::steady_clock::now() > deadline)) break;
      MHD_UNSIGNED_LONG_LONG next = 0;
      int wait_ms = 50;  // how soon a stop is noticed
      if (mhd().get_timeout(loop.daemon, &next) == MHD_YES)
        wait_ms = int(std::min<MHD_UNSIGNED_LONG_LONG>(next, 50));
      // The replies of the round just scored go out with the next MHD_run:
      // no waiting for it.
      if (resumed) wait_ms = 0;
      epoll_event event;
      if (epoll >= 0) ::epoll_wait(epoll, &event, 1, wait_ms);
      mhd().run(loop.daemon);
      resumed = !loop.waiting.empty();
      if (resumed) score_round(loop);
    }
    if (epoll >= 0) ::close(epoll);
    mhd().stop_daemon(loop.daemon);
    loop.daemon = nullptr;
  }

  MHD_Result too_large(MHD_Connection* c, Exchange& x) {
    return send(c, x,
                {413, error_body("request body larger than " + std::to_string(cfg.max_body) + " bytes"),
                 "application/json", ""});
  }

  MHD_Result send(MHD_Connection* c, Exchange& x, const HttpReply& reply) {
    MHD_Response* r = mhd().create_response_from_buffer(
        reply.body.size(), const_cast<char*>(reply.body.data()), MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;  // out of memory: MHD closes the connection
    mhd().add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, reply.content_type.c_str());
    if (!reply.allow.empty()) mhd().add_response_header(r, MHD_HTTP_HEADER_ALLOW, reply.allow.c_str());
    const MHD_Result ok = mhd().queue_response(c, unsigned(reply.status), r);
    mhd().destroy_response(r);
    if (ok == MHD_YES) x.status = reply.status;
    return ok;
  }

  // Every request begins here, once its request line is parsed, so that the
  // ones MHD refuses itself (bad headers, 431, 505, timeouts) are counted too.
  static void* on_request_line(void* cls, const char* uri, MHD_Connection* c) {
    Impl& s = *static_cast<Loop*>(cls)->server;
    auto* x = new Exchange;
    x->path = uri ? uri : "";  // raw (query string included) until the headers are read
    ++s.in_flight;
    if (const MHD_ConnectionInfo* i = mhd().get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT))
      if (i->socket_context) ++*static_cast<uint64_t*>(i->socket_context);
    return x;
  }

  static void on_completed(void* cls, MHD_Connection* c, void** ctx, MHD_RequestTerminationCode code) {
    Impl& s = *static_cast<Loop*>(cls)->server;
    std::unique_ptr<Exchange> x(static_cast<Exchange*>(*ctx));
    *ctx = nullptr;
    if (!x) return;
    if (x->status == 0)  // a reply MHD queued itself (400, 413, 431, 505...)
      if (const MHD_ConnectionInfo* i = mhd().get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS))
        x->status = int(i->http_status);
    Metrics::Unanswered why = Metrics::Failed;
    if (x->too_slow || code == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED) why = Metrics::Timeout;
    if (code == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN) why = Metrics::Shutdown;
    if (code == MHD_REQUEST_TERMINATED_CLIENT_ABORT || code == MHD_REQUEST_TERMINATED_READ_ERROR)
      why = Metrics::ClientGone;
    if (x->status != 0)
      s.log_request(*x);
    else
      s.metrics.unanswered(Metrics::endpoint_of(x->path), why);
    x.reset();
    --s.in_flight;
  }

  // Per connection: how many request lines it carried, to count the
  // connections closed before any (MHD closes an unparsable one silently).
  static void on_connection(void* cls, MHD_Connection*, void** socket_ctx,
                            MHD_ConnectionNotificationCode code) {
    Impl& s = *static_cast<Loop*>(cls)->server;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
      s.metrics.connection_opened();
      *socket_ctx = new (std::nothrow) uint64_t(0);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
      std::unique_ptr<uint64_t> requests(static_cast<uint64_t*>(*socket_ctx));
      *socket_ctx = nullptr;
      if (!requests || *requests > 0) return;
      s.metrics.connection_without_request();
    }
  }

  // MHD's error log is its only report of the replies it sends itself, the
  // ones before a request line is parsed (505) included.
  static void on_mhd_error(void* cls, const char* format, va_list args) {
    static constexpr char kReply[] = "Error processing request (HTTP response code is %u";
    if (std::strncmp(format, kReply, sizeof kReply - 1) == 0) {
      va_list copy;
      va_copy(copy, args);
      static_cast<Impl*>(cls)->metrics.library_reply(int(va_arg(copy, unsigned)));
      va_end(copy);
    }
    char buf[512];
    std::vsnprintf(buf, sizeof buf, format, args);
    std::string message(buf);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    log_event({{"event", "http_error"}, {"error", message}});
  }

  void log_request(const Exchange& x) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - x.start).count();
    metrics.observe(Metrics::endpoint_of(x.path), x.status, seconds);
    if (!cfg.access_log) return;
    log_line(nlohmann::ordered_json{{"time", now_iso8601()},
                                    {"method", x.method},
                                    {"path", x.path},
                                    {"status", x.status},
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
      const double load_ms = std::round(m->load_seconds() * 1e4) / 10;
      slot.set(std::move(m));
      metrics.model_loaded();
      log_event({{"event", "model_loaded"},
                 {"path", cfg.model_path},
                 {"load_ms", load_ms},
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

  // Reloads (a changed file, request_reload()) run here, below the event
  // loops' priority: loading copies and verifies the whole file (~0.5 s of
  // CPU for 423 MB), and on a saturated machine that time would otherwise
  // come out of the requests' (p99 ~7 ms during reloads vs ~5 ms here, 2
  // cores). Idle cores still run it at full speed; a saturated server loads
  // later, and skips to the newest file.
  void watch() {
    // Relative to the process's nice; the kernel caps it at 19. Named for top -H.
    (void)::setpriority(PRIO_PROCESS, id_t(::syscall(SYS_gettid)), ::getpriority(PRIO_PROCESS, 0) + kReloadNice);
    (void)::pthread_setname_np(::pthread_self(), "vidrec-reload");
    std::unique_lock<std::mutex> lock(stop_mutex);
    for (;;) {
      stop_cv.wait_for(lock, cfg.watch_interval, [this] { return stopping || reload_asked; });
      if (stopping) return;
      const bool asked = std::exchange(reload_asked, false);
      lock.unlock();
      FileId now, last;
      {
        std::lock_guard<std::mutex> l(load_mutex);
        last = tried;
      }
      if (asked || (file_id(cfg.model_path, now) && !(now == last))) load(false);
      lock.lock();
    }
  }
};

Server::Server(ServeConfig cfg) : impl_(std::make_unique<Impl>(std::move(cfg))) { impl_->cfg.validate(); }

Server::~Server() { stop(); }

void Server::start() {
  Impl& s = *impl_;
  addrinfo hints{}, *found = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  const std::string service = std::to_string(s.cfg.port);
  if (::getaddrinfo(s.cfg.host.c_str(), service.c_str(), &hints, &found) != 0 || !found)
    throw IoError("cannot listen on " + s.cfg.host + ": unknown host");
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> addr(found, ::freeaddrinfo);
  // External epoll mode (each loop thread runs its daemon); suspend/resume
  // for requests waiting to be scored. Several loops share the port through
  // SO_REUSEPORT, the kernel spreading connections among them.
  unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO | MHD_USE_ERROR_LOG;
  if (addr->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
  const unsigned n = resolve_threads(s.cfg.threads);
  sockaddr_storage bind_to{};
  std::memcpy(&bind_to, addr->ai_addr, addr->ai_addrlen);
  for (unsigned i = 0; i < n; ++i) {
    auto loop = std::make_unique<Impl::Loop>();
    loop->server = &s;
    loop->daemon = mhd().start_daemon(
        flags, 0, nullptr, nullptr, &Impl::on_request, loop.get(), MHD_OPTION_EXTERNAL_LOGGER,
        &Impl::on_mhd_error, &s, MHD_OPTION_SOCK_ADDR, &bind_to, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
        MHD_OPTION_CONNECTION_TIMEOUT, unsigned(s.cfg.read_timeout.count()), MHD_OPTION_CONNECTION_LIMIT,
        unsigned(std::max<size_t>(1, s.cfg.max_connections / n)), MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        // 8 KiB per connection for headers and body reads, nginx's header
        // limit (MHD zeroes the pool between requests: its default 32 KiB
        // cost ~3% of a loaded server's time, 16 KiB still 2%).
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, size_t(8) << 10, MHD_OPTION_NOTIFY_COMPLETED, &Impl::on_completed,
        loop.get(), MHD_OPTION_URI_LOG_CALLBACK, &Impl::on_request_line, loop.get(),
        MHD_OPTION_NOTIFY_CONNECTION, &Impl::on_connection, loop.get(), MHD_OPTION_END);
    if (!loop->daemon) {
      stop();
      throw IoError("cannot listen on " + s.cfg.host + ":" + std::to_string(s.cfg.port) +
                    " (address in use, not local, or not permitted)");
    }
    if (i == 0) {  // port 0: the others join the port the first was given
      const MHD_DaemonInfo* info = mhd().get_daemon_info(loop->daemon, MHD_DAEMON_INFO_BIND_PORT);
      s.port = info ? int(info->port) : s.cfg.port;
      const auto port = htons(uint16_t(s.port));
      if (bind_to.ss_family == AF_INET6)
        reinterpret_cast<sockaddr_in6*>(&bind_to)->sin6_port = port;
      else
        reinterpret_cast<sockaddr_in*>(&bind_to)->sin_port = port;
    }
    Impl::Loop* l = loop.get();
    s.loops.push_back(std::move(loop));
    l->thread = std::thread([&s, l] { s.run(*l); });
  }
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
  // The loops drain first: a reload under way (at the watcher's low
  // priority) then has the cores to itself.
  s.draining = true;
  for (auto& loop : s.loops)
    if (loop->thread.joinable()) loop->thread.join();
  for (auto& loop : s.loops)
    if (loop->daemon) mhd().stop_daemon(loop->daemon);  // never ran
  s.loops.clear();
  if (s.watcher.joinable()) s.watcher.join();
}

void Server::request_reload() {
  Impl& s = *impl_;
  {
    std::lock_guard<std::mutex> lock(s.stop_mutex);
    s.reload_asked = true;
  }
  s.stop_cv.notify_all();
}

int Server::port() const { return impl_->port; }
bool Server::running() const { return !impl_->loops.empty() && !impl_->draining; }
const ModelSlot& Server::slot() const { return impl_->slot; }

}  // namespace vidrec
