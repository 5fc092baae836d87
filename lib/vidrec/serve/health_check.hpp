// SPDX-License-Identifier: MIT
// `vidrec sagemaker ping`: the container's HEALTHCHECK asks the server in
// the same container for /ping with the binary itself, so the image needs no
// curl. A plain HTTP/1.1 GET over loopback: connect, send, read the status
// line, all within one deadline.
//
// Contract
// - ping_status(port, timeout) returns the status code of the answer to
//   `GET /ping` sent to 127.0.0.1:port (1..65535).
// - IoError naming the address and the reason when it cannot: nothing
//   listens (connection refused), no status line within the timeout, the
//   peer closes first, or what it sends is not an HTTP status line (checked
//   on the first line only, at most 1 KiB read).
#pragma once
#include <chrono>

namespace vidrec {

int ping_status(int port, std::chrono::milliseconds timeout);

}  // namespace vidrec
