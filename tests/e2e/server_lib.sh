# SPDX-License-Identifier: MIT
# Helpers for the end-to-end tests that run `vidrec serve` (sourced after
# lib.sh): start it on a free port, post to it, and always kill it on exit.
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  SERVER_PID=""
}
trap 'stop_server; rm -rf "$WORK"' EXIT

# start_server LOG COMMAND... -- runs COMMAND with PORT set to a free port
# (bounded retries on a taken one) and waits for /ping; sets SERVER_PID, PORT.
start_server() {
  local log=$1 try i
  shift
  for try in 1 2 3 4 5 6 7 8; do
    PORT=$((20000 + RANDOM % 40000))
    PORT=$PORT "$@" 2>"$log" &
    SERVER_PID=$!
    for i in $(seq 1 100); do
      [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/ping")" = 200 ] && return 0
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.05
    done
    stop_server
    grep -q "cannot listen" "$log" || break
  done
  echo "server did not start: $(head -c 400 "$log")" >&2
  return 1
}

# post PATH BODY [CONTENT_TYPE] -> status code on stdout, body in $WORK/body
post() {
  curl -s -o "$WORK/body" -w '%{http_code}' -H "Content-Type: ${3-application/json}" --data-binary "$2" \
    "http://127.0.0.1:$PORT$1"
}
