#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Load test of `vidrec serve` with wrk on loopback (not a test: figures only).
# Builds a 20k-video, 64-factor model from synthetic logs (cached in DIR),
# then runs POST /invocations for random known users, 64 connections, 20 s:
#   1. saturating (each connection sends its next request at once);
#   2. paced (2 ms between a connection's requests: ~22,000 requests/s);
#   3. saturating while the model file is replaced 10 times (SWAP=copy or rename, below).
# Usage: scripts/bench_serve.sh [BUILD_DIR (build)] [DIR (/tmp/vidrec-bench-serve)]
# MODEL=FILE [MODEL2=FILE] serves a given model instead (e.g. ann_bench's
# 1M-video indexed one; MODEL2 defaults to MODEL: a copy still reloads), its
# users named by USER_FORMAT (printf, default u%06d) from 0 to USERS - 1.
# REFERENCE=1 also measures nginx answering a constant string the same way,
# in ROUNDS interleaved rounds with this build (and PREVIOUS=BINARY, another
# vidrec), and how steady the CPU is with nothing running (bench/cpu_jitter).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
DIR=${2:-/tmp/vidrec-bench-serve}
VIDREC=$BUILD/apps/vidrec
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-64}
. scripts/deps.sh
install_deps wrk
[ -x "$VIDREC" ] || configure_build "$BUILD" Release vidrec
mkdir -p "$DIR"

USER_FORMAT=${USER_FORMAT:-u%06d}
USERS=${USERS:-50000}
if [ -n "${MODEL:-}" ]; then
  cp "$MODEL" "$DIR/model.vrm"
  cp "${MODEL2:-$MODEL}" "$DIR/model2.vrm"
elif [ ! -s "$DIR/model.vrm" ]; then
  /usr/bin/python3 "${SHARED:-../shared}/tools/synth.py" --users 100000 --videos 20000 --events 2000000 -o "$DIR/raw.csv"
  "$VIDREC" prepare "$DIR/raw.csv" -o "$DIR/data.vrd" -q
  "$VIDREC" train "$DIR/data.vrd" -o "$DIR/model.vrm" --factors 64 --iterations 5 -q
  "$VIDREC" train "$DIR/data.vrd" -o "$DIR/model2.vrm" --factors 64 --iterations 5 --seed 7 -q
fi
cp "$DIR/model.vrm" "$DIR/live.vrm"

# Random known users among the first USERS ids (u000000..), 4,096 requests
# formatted once per wrk thread and handed out in turn: formatting one per
# call (string.format + wrk.format) cost wrk CPU that the server, on the same
# 2 cores, then lacked.
cat >"$DIR/invocations.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local pool, at = {}, 0
init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  for i = 1, 4096 do
    local body = string.format('{"user_id":"$USER_FORMAT","k":10}', math.random(0, $((USERS - 1))))
    pool[i] = wrk.format(nil, "/invocations", nil, body)
  end
end
request = function()
  at = at % #pool + 1
  return pool[at]
end
-- wrk counts only socket errors and non-2xx/3xx; print both plainly.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("requests %d, %.0f req/s, p50 %.2f ms, p99 %.2f ms, " ..
    "non-2xx %d, socket errors connect %d read %d write %d timeout %d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.status, e.connect, e.read, e.write, e.timeout))
end
EOF

# start_server BINARY MODEL LOG: sets PORT and PID (a free port, tried at random).
start_server() {
  PORT=""
  for try in 1 2 3 4 5 6 7 8; do
    p=$((20000 + RANDOM % 40000))
    "$1" serve --model "$2" --port "$p" --quiet 2>"$3" &
    PID=$!
    for i in $(seq 1 100); do
      curl -sf -o /dev/null "http://127.0.0.1:$p/ping" && { PORT=$p; break; }
      kill -0 "$PID" 2>/dev/null || break
      sleep 0.05
    done
    [ -n "$PORT" ] && return 0
    kill "$PID" 2>/dev/null || true
  done
  echo "server did not start: $(cat "$3")" >&2
  exit 1
}
start_server "$VIDREC" "$DIR/live.vrm" "$DIR/server.log"
SERVER_PID=$PID SERVER_PORT=$PORT PREV_PID=""
trap 'kill $SERVER_PID $PREV_PID 2>/dev/null || true' EXIT
PORT=$SERVER_PORT

echo "== saturating: $CONNECTIONS connections, $DURATION, $(nproc) cores (shared machine: figures are noisy)"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$DIR/invocations.lua" "http://127.0.0.1:$PORT" |
  tee "$DIR/steady.txt" | tail -1
# The server's own view (headers read to reply queued), from its histogram:
# wrk's figures also hold the time wrk itself waits for one of the 2 cores.
curl -s "http://127.0.0.1:$PORT/metrics" | awk -F'[ ]' '
  /^vidrec_request_duration_seconds_bucket\{endpoint="\/invocations",le="0.005"\}/ { le5 = $2 }
  /^vidrec_request_duration_seconds_count\{endpoint="\/invocations"\}/ { n = $2 }
  END { if (n) printf "server side: %.2f%% of %d requests answered within 5 ms\n", 100 * le5 / n, n }'

# Latency at the target rate rather than at saturation: each connection
# waits 2 ms between requests (about 22,000 requests/s here). A saturating
# closed loop measures the queue for the 2 cores that wrk and the server
# share (see REFERENCE=1), not the service time.
{ cat "$DIR/invocations.lua"; echo 'delay = function() return 2 end'; } >"$DIR/paced.lua"
echo "== paced: $CONNECTIONS connections, each waiting 2 ms between requests, $DURATION"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$DIR/paced.lua" "http://127.0.0.1:$PORT" |
  tee "$DIR/paced.txt" | tail -1

# SWAP=copy (default) writes each new file beside the server (cp, then mv:
# the copy's own CPU and I/O share the cores); SWAP=rename only renames
# copies made beforehand (hard links), so the server's reloads are all that
# is measured.
SWAP=${SWAP:-copy}
if [ "$SWAP" = rename ]; then
  cp "$DIR/model.vrm" "$DIR/swap-model.vrm"
  cp "$DIR/model2.vrm" "$DIR/swap-model2.vrm"
fi
echo "== the same while the model is replaced 10 times (SWAP=$SWAP)"
(
  sleep 1
  for i in $(seq 1 10); do
    if [ $((i % 2)) -eq 1 ]; then src=model2; else src=model; fi
    if [ "$SWAP" = rename ]; then
      ln -f "$DIR/swap-$src.vrm" "$DIR/live.tmp"
    else
      cp "$DIR/$src.vrm" "$DIR/live.tmp"
    fi
    mv "$DIR/live.tmp" "$DIR/live.vrm"
    sleep 1.5
  done
) &
SWAP=$!
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$DIR/invocations.lua" "http://127.0.0.1:$PORT" |
  tee "$DIR/reload.txt" | tail -1
wait "$SWAP"
echo "model loads logged: $(grep -c '"event":"model_loaded"' "$DIR/server.log") (1 at start + reloads)," \
  "load_ms: $(grep -o '"load_ms":[0-9.]*' "$DIR/server.log" | cut -d: -f2 | tr '\n' ' ')"

# REFERENCE=1: the floor this harness can measure here. nginx answering a
# constant string, loaded the same way (wrk -t2, same connections and time):
# its p99 is what co-locating wrk and a server on these cores costs alone.
# ROUNDS (default 3) interleaved rounds of this build, PREVIOUS (another
# vidrec binary, such as the last release's, when set) and nginx, then each
# one's median: the load of a shared machine moves within a minute.
if [ "${REFERENCE:-0}" = 1 ]; then
  install_deps nginx-light
  NGX=$DIR/nginx
  mkdir -p "$NGX"
  NPORT=$((20000 + RANDOM % 40000))
  cat >"$NGX/nginx.conf" <<CONF
worker_processes $(nproc);
pid $NGX/nginx.pid;
error_log $NGX/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$NPORT reuseport;
    location /ping { return 200 '{"status":"ok"}\n'; }
  }
}
CONF
  nginx -c "$NGX/nginx.conf"
  # And how steady the CPU itself is, with nothing else running.
  [ -x "$BUILD/bench/cpu_jitter" ] || configure_build "$BUILD" Release cpu_jitter
  "$BUILD/bench/cpu_jitter" --seconds 6 | tail -1
  # The same summary line for nginx's GETs.
  sed -n '/^-- wrk counts only/,$p' "$DIR/invocations.lua" >"$DIR/ping.lua"
  names="vidrec"
  if [ -n "${PREVIOUS:-}" ]; then
    cp "$DIR/model.vrm" "$DIR/previous.vrm"
    start_server "$PREVIOUS" "$DIR/previous.vrm" "$DIR/previous.log"
    PREV_PID=$PID PREV_PORT=$PORT
    names="vidrec previous"
  fi
  names="$names nginx"
  echo "== reference rounds: $names, saturating, $CONNECTIONS connections, $DURATION each; load: $(cut -d' ' -f1-3 /proc/loadavg)"
  : >"$DIR/rounds.txt"
  for round in $(seq 1 "${ROUNDS:-3}"); do
    for name in $names; do
      case $name in
        vidrec) target=(-s "$DIR/invocations.lua" "http://127.0.0.1:$SERVER_PORT") ;;
        previous) target=(-s "$DIR/invocations.lua" "http://127.0.0.1:$PREV_PORT") ;;
        nginx) target=(-s "$DIR/ping.lua" "http://127.0.0.1:$NPORT/ping") ;;
      esac
      line=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" "${target[@]}" | tail -1)
      echo "round $round $name: $line"
      echo "$name $line" >>"$DIR/rounds.txt"
    done
  done
  nginx -c "$NGX/nginx.conf" -s stop 2>/dev/null
  median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
  nginx_p99=$(awk '$1 == "nginx" { print $10 }' "$DIR/rounds.txt" | median)
  for name in $names; do
    rps=$(awk -v n="$name" '$1 == n { print $4 }' "$DIR/rounds.txt" | median)
    p99=$(awk -v n="$name" '$1 == n { print $10 }' "$DIR/rounds.txt" | median)
    awk -v n="$name" -v r="$rps" -v p="$p99" -v q="$nginx_p99" -v k="${ROUNDS:-3}" \
      'BEGIN { printf "median of %d: %-8s %7.0f req/s, p99 %.2f ms (%.2fx nginx)\n", k, n, r, p, p / q }'
  done
  echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
fi
