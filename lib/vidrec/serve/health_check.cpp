// SPDX-License-Identifier: MIT
#include "vidrec/serve/health_check.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <string>

#include "vidrec/base/errors.hpp"

namespace vidrec {
namespace {

using Clock = std::chrono::steady_clock;

struct Fd {
  int fd;
  ~Fd() { ::close(fd); }
};

// Waits for `events` on fd until the deadline; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>(left));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) throw IoError(std::string("poll: ") + std::strerror(errno));
  }
}

}  // namespace

int ping_status(int port, std::chrono::milliseconds timeout) {
  if (port < 1 || port > 65535) throw ConfigError("port must be 1..65535, got " + std::to_string(port));
  const std::string where = "http://127.0.0.1:" + std::to_string(port) + "/ping";
  auto fail = [&](const std::string& why) { return IoError(where + ": " + why); };
  const auto deadline = Clock::now() + timeout;

  const Fd s{::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) throw fail(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) throw fail(std::strerror(errno));
    if (!wait_for(s.fd, POLLOUT, deadline)) throw fail("no connection within the timeout");
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) throw fail(std::strerror(err));
  }

  const std::string request = "GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  for (size_t sent = 0; sent < request.size();) {
    if (!wait_for(s.fd, POLLOUT, deadline)) throw fail("could not send the request within the timeout");
    const ssize_t n = ::send(s.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) throw fail(std::string("send: ") + std::strerror(errno));
    if (n > 0) sent += size_t(n);
  }

  std::string head;
  while (head.find('\n') == std::string::npos && head.size() < 1024) {
    if (!wait_for(s.fd, POLLIN, deadline)) throw fail("no answer within the timeout");
    char buf[1024];
    const ssize_t n = ::recv(s.fd, buf, std::min(sizeof buf, 1024 - head.size()), 0);
    if (n == 0) throw fail(head.empty() ? "closed without an answer" : "closed within the status line");
    if (n < 0 && errno != EAGAIN && errno != EINTR) throw fail(std::string("recv: ") + std::strerror(errno));
    if (n > 0) head.append(buf, size_t(n));
  }
  // "HTTP/1.x NNN reason"
  const bool ok = head.size() >= 12 && head.compare(0, 7, "HTTP/1.") == 0 && head[8] == ' ' &&
                  std::isdigit(static_cast<unsigned char>(head[9])) && std::isdigit(static_cast<unsigned char>(head[10])) &&
                  std::isdigit(static_cast<unsigned char>(head[11])) && (head.size() == 12 || head[12] == ' ' || head[12] == '\r');
  if (!ok) throw fail("not an HTTP status line: '" + head.substr(0, head.find_first_of("\r\n")).substr(0, 80) + "'");
  return (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
}

}  // namespace vidrec
