// SPDX-License-Identifier: MIT
// `vidrec serve`: the HTTP server around api.hpp (libmicrohttpd in
// external epoll mode, one event loop per thread sharing the port with
// SO_REUSEPORT). Requests that need scoring are suspended as their bodies
// complete and scored together after each round of events (score_jobs), so
// under load one pass over the videos answers many requests.
//
// Contract
// - start() binds (IoError when the address is taken), starts answering (so
//   /ping says 503 while the model loads), then loads the model with
//   Verify::Full; a first load that fails stops the server and throws.
// - Hot reload: reload() (on the caller's thread), request_reload() (the
//   signal loop's SIGHUP: the watcher loads at its next wake) and a watcher
//   that polls the model path's identity (device, inode, size, mtime) every
//   watch_interval load the file again and swap it in atomically; requests
//   in flight finish on the old model. A file that fails to load is refused
//   (logged, counted in /metrics) and the old model keeps serving; the
//   watcher retries only once the file changes again. The watcher runs at
//   nice +10 relative to the event loops, so a reload takes idle CPU time
//   rather than the requests' (on a saturated server it finishes later).
// - Slow clients: a connection silent for read_timeout (mid-request or idle
//   between requests) is closed, and so is one whose body is not complete
//   read_timeout after its headers. A slow client holds a socket, not a
//   thread; at most max_connections are open at once. A declared body above
//   max_body gets 413 without being read (a chunked one once it passes it).
//   Malformed headers are answered by libmicrohttpd itself (400, 431, 505,
//   not JSON); an unparsable request line is closed unanswered (0.9.75 has
//   no hook there). Metrics counts all of them: replies by status, requests
//   begun but unanswered by reason, connections that carried no request.
// - One JSON line per request on stderr (time, method, path, status,
//   latency_ms) unless access_log is false; model loads and refusals are
//   always logged. Lines are written with one write(2) each.
// - stop() stops accepting, lets requests in flight finish and joins every
//   thread; the destructor calls it.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "vidrec/serve/api.hpp"

namespace vidrec {

struct ServeConfig {
  std::string model_path;
  std::string host = "127.0.0.1";
  int port = 8080;       // 0 = any free port (see Server::port())
  unsigned threads = 0;  // event loops; 0 = one per core
  size_t max_connections = 4096;
  size_t max_body = size_t(1) << 20;
  bool access_log = true;
  std::chrono::milliseconds watch_interval{1000};
  std::chrono::seconds read_timeout{5};
  uint32_t csv_k = 10;    // k of a text/csv /invocations body without ?k=
  void validate() const;  // throws ConfigError naming the rule
};

class Server {
 public:
  explicit Server(ServeConfig cfg);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  void start();
  // Loads the model file again; false (and logged) when it is refused.
  bool reload();
  // Has the watcher thread load the model file again, soon; returns at once.
  void request_reload();
  void stop();
  // The bound port; valid after start().
  int port() const;
  // False once the listener has stopped, whatever the reason.
  bool running() const;
  const ModelSlot& slot() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs a server until SIGTERM or SIGINT (then stops it gracefully), reloading
// the model on SIGHUP. Installs handlers for the three signals and restores
// the previous ones before returning.
void serve_until_signal(const ServeConfig& cfg);

}  // namespace vidrec
