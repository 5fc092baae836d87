// SPDX-License-Identifier: MIT
// ping_status against scripted loopback peers: every way a peer can answer,
// stall or refuse, each with its own error.
#include "vidrec/serve/health_check.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "vidrec/base/errors.hpp"

using namespace vidrec;
using namespace std::chrono_literals;

namespace {

// A TCP socket bound to an ephemeral loopback port, and that port.
int bound_loopback(int& port) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return s;
}

// A one-connection server on an ephemeral loopback port: accepts, reads the
// request head, then sends `parts` one write each (a pause between them) and
// closes; with `stall` it holds the connection open and sends nothing.
struct Peer {
  int listener = -1;
  int port = 0;
  std::string request;
  std::thread thread;

  Peer(std::vector<std::string> parts, bool stall = false) {
    listener = bound_loopback(port);
    REQUIRE(::listen(listener, 1) == 0);
    thread = std::thread([this, parts = std::move(parts), stall] {
      const int c = ::accept(listener, nullptr, nullptr);
      if (c < 0) return;
      char buf[512];
      while (request.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        request.append(buf, size_t(n));
      }
      if (stall) std::this_thread::sleep_for(600ms);
      for (const auto& p : parts) {
        ::send(c, p.data(), p.size(), MSG_NOSIGNAL);
        std::this_thread::sleep_for(5ms);
      }
      ::close(c);
    });
  }
  ~Peer() {
    if (thread.joinable()) thread.join();
    ::close(listener);
  }
};

std::string error_of(int port, std::chrono::milliseconds timeout) {
  try {
    ping_status(port, timeout);
  } catch (const IoError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("ping_status reads the status code of the answer to GET /ping") {
  SECTION("200, sent whole") {
    Peer p({"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"});
    CHECK(ping_status(p.port, 2s) == 200);
    p.thread.join();
    CHECK(p.request.rfind("GET /ping HTTP/1.1\r\n", 0) == 0);
  }
  SECTION("a status line split across writes, HTTP/1.0, no reason phrase") {
    Peer p({"HT", "TP/1.0 2", "00\r\n", "\r\n"});
    CHECK(ping_status(p.port, 2s) == 200);
  }
  SECTION("an unhealthy answer is a status, not an error") {
    Peer p({"HTTP/1.1 503 Service Unavailable\r\n\r\n"});
    CHECK(ping_status(p.port, 2s) == 503);
  }
}

TEST_CASE("ping_status fails with the address and the reason") {
  const std::string where = "http://127.0.0.1:";
  SECTION("closed without an answer") {
    Peer p({});
    CHECK(error_of(p.port, 2s) == where + std::to_string(p.port) + "/ping: closed without an answer");
  }
  SECTION("closed within the status line") {
    Peer p({"HTTP/1.1 20"});
    CHECK(error_of(p.port, 2s).find("closed within the status line") != std::string::npos);
  }
  SECTION("not HTTP") {
    Peer p({"SSH-2.0-OpenSSH_9.2\r\n"});
    CHECK(error_of(p.port, 2s).find("not an HTTP status line: 'SSH-2.0-OpenSSH_9.2'") != std::string::npos);
  }
  SECTION("a status that is not three digits") {
    Peer p({"HTTP/1.1 2x0 OK\r\n"});
    CHECK(error_of(p.port, 2s).find("not an HTTP status line") != std::string::npos);
  }
  SECTION("a first line over 1 KiB") {
    Peer p({std::string(3000, 'A')});
    CHECK(error_of(p.port, 2s).find("not an HTTP status line: 'AAAA") != std::string::npos);
  }
  SECTION("silence past the deadline") {
    Peer p({"HTTP/1.1 200 OK\r\n\r\n"}, true);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(error_of(p.port, 200ms).find("no answer within the timeout") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - t0 < 550ms);
  }
  SECTION("nothing listening") {
    int port = 0;
    ::close(bound_loopback(port));  // bound, never listening: the port refuses
    CHECK(error_of(port, 2s) == where + std::to_string(port) + "/ping: Connection refused");
  }
  SECTION("a port out of range is a usage error") {
    CHECK_THROWS_AS(ping_status(0, 1s), ConfigError);
    CHECK_THROWS_AS(ping_status(65536, 1s), ConfigError);
  }
}
