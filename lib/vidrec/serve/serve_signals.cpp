// SPDX-License-Identifier: MIT
// serve_until_signal (serve.hpp): a Server driven by SIGTERM, SIGINT and SIGHUP.
#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

#include "vidrec/serve/log.hpp"
#include "vidrec/serve/serve.hpp"

namespace vidrec {

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
    if (pending_reloads.exchange(0) > 0) server.request_reload();
  }
  server.stop();
  log_event({{"event", "stopped"}});
}

}  // namespace vidrec
