#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end tests of `vidrec serve` and the SageMaker contract on the real
# binary. Traffic goes to 127.0.0.1 only; every loop is bounded; the server
# is always killed on exit.
# Usage: serve_test.sh PATH/TO/vidrec PROJECT_ROOT
VIDREC=$1
ROOT=$2
. "$ROOT/tests/e2e/lib.sh"
. "$ROOT/tests/e2e/server_lib.sh"

"$VIDREC" prepare "$ROOT/examples/interactions.csv" -o "$WORK/ex.vrd" -q &&
  "$VIDREC" train "$WORK/ex.vrd" -o "$WORK/a.vrm" --config "$ROOT/examples/train.toml" -q &&
  "$VIDREC" train "$WORK/ex.vrd" -o "$WORK/b.vrm" --config "$ROOT/examples/train.toml" --seed 7 -q ||
  { echo "setup failed"; exit 1; }

# load_in_background -- 300 /invocations requests, one after another, in the
# background: one status a line in $WORK/codes; sets LOAD.
load_in_background() {
  (
    for i in $(seq 1 300); do
      curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 -H 'Content-Type: application/json' \
        -d '{"user_id":"u00'$((i % 9 + 1))'","k":3}' "$URL/invocations"
    done >"$WORK/codes"
  ) &
  LOAD=$!
}

# served_within_4s FILE -- 1 once /invocations for u001 answers FILE's bytes, 0 if not within 4 s.
served_within_4s() {
  local i
  for i in $(seq 1 40); do
    post /invocations '{"user_id":"u001","k":3}' >/dev/null
    cmp -s "$WORK/body" "$1" && { echo 1; return; }
    sleep 0.1
  done
  echo 0
}

cp "$WORK/a.vrm" "$WORK/live.vrm"
start_server "$WORK/server.log" sh -c "exec '$VIDREC' serve --model '$WORK/live.vrm' --port \$PORT \
  --max-body 65536 --read-timeout 1" || exit 1
URL=http://127.0.0.1:$PORT

# Endpoints.
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "$URL/ping")" 200 "ping"
expect_eq "$(post /invocations '{"user_id":"u001","k":3}')" 200 "invocations"
"$VIDREC" recommend --model "$WORK/a.vrm" --user u001 -k 3 >"$WORK/cli.json"
if cmp -s "$WORK/body" "$WORK/cli.json"; then pass; else fail "serve != recommend: $(cat "$WORK/body")"; fi
expect_eq "$(post /invocations '{"instances":[{"user_id":"u002","k":1},{"user_id":"nobody","k":1},{"user_id":"u001","k":1}]}')" 200 "batch"
expect_eq "$(grep -o '"userId":"[^"]*"' "$WORK/body" | tr -d '\n')" '"userId":"u002""userId":"nobody""userId":"u001"' "batch order"
expect_contains "$WORK/body" '{"predictions":[' "batch envelope"
expect_contains "$WORK/body" '"userId":"nobody","source":"popular"' "unknown user gets popular"
expect_eq "$(post /invocations '{"user_id":"new","k":2,"history":[{"videoId":"v001","value":3},{"videoId":"v002"}],"exclude":["v005"]}')" 200 "fold-in"
expect_eq "$(grep -o '"videoId"' "$WORK/body" | wc -l)" 2 "fold-in answers k videos"
grep -qE '"v00(1|2|5)"' "$WORK/body" && fail "fold-in returned history or excluded videos: $(cat "$WORK/body")" || pass
expect_eq "$(post /similar '{"video_id":"v001","k":2}')" 200 "similar"
expect_contains "$WORK/body" '{"videoId":"v001","similar":[' "similar shape"
expect_eq "$(curl -s -o "$WORK/body" -w '%{http_code}' "$URL/metrics")" 200 "metrics"
expect_contains "$WORK/body" 'vidrec_requests_total{endpoint="/invocations",status="200"}' "metrics counters"
expect_contains "$WORK/body" 'vidrec_request_duration_seconds_bucket{endpoint="/invocations",le="+Inf"}' "metrics histogram"
expect_contains "$WORK/body" 'vidrec_model_info{header_checksum="' "metrics model version"

# Every error status, each with a JSON error body.
expect_eq "$(post /invocations '{"user_id":')" 400 "malformed JSON"
expect_contains "$WORK/body" '{"error":"malformed JSON' "400 body"
expect_eq "$(post /invocations '{"user_id":"u001","k":0}')" 400 "k 0"
expect_eq "$(post /invocations '{"user_id":"u001","k":"many"}')" 400 "k wrong type"
expect_eq "$(post /invocations '{"user_id":"u001","k":100000}')" 400 "k too large"
expect_eq "$(post /invocations '{"user_id":["u001"]}')" 400 "user_id wrong type"
expect_eq "$(post /similar '{"video_id":"v999"}')" 404 "unknown video"
head -c 70000 /dev/zero | tr '\0' ' ' >"$WORK/big.json"
expect_eq "$(curl -s -o "$WORK/body" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$WORK/big.json" "$URL/invocations")" 413 "body over the limit"
expect_contains "$WORK/body" '"error":"request body larger than 65536 bytes"' "413 body"
head -c 10000000 /dev/zero | tr '\0' ' ' >"$WORK/huge.json"
expect_eq "$(curl -s -o "$WORK/body" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$WORK/huge.json" "$URL/invocations")" 413 "10 MB body"
expect_eq "$(curl -s -o "$WORK/body" -w '%{http_code}' -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/big.json" "$URL/invocations")" 413 "chunked body over the limit"
expect_eq "$(post /invocations "{\"user_id\":$(head -c 60000 /dev/zero | tr '\0' '[')")" 400 "deep nesting"
expect_eq "$(post /invocations "$(printf '{"user_id":"\xff\xfe","k":1}')")" 400 "invalid UTF-8"
# Deep nesting, closed (so it parses), in any field: 400 naming the limit,
# and the server still up (80,000 levels, which crashed it, further down).
# nest LEVELS INNER -> LEVELS arrays around INNER
nest() { head -c "$1" /dev/zero | tr '\0' '['; printf '%s' "$2"; head -c "$1" /dev/zero | tr '\0' ']'; }
# post_file PATH FILE -> status code, body in $WORK/body
post_file() {
  curl -s -o "$WORK/body" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$2" \
    "http://127.0.0.1:$PORT$1"
}
# deep_cases LEVELS LABEL: LEVELS arrays deep in each field, and on /similar;
# every one a 400 naming the limit, and the server still answering.
deep_cases() {
  local deep body
  deep=$(nest "$1" 1)
  for body in "{\"user_id\":\"u001\",\"k\":$deep}" "{\"user_id\":\"u001\",\"include_seen\":$deep}" \
    "{\"user_id\":\"u001\",\"exclude\":[\"v001\",$deep]}" \
    "{\"user_id\":\"new\",\"history\":[{\"videoId\":\"v001\",\"value\":$deep}]}" \
    "{\"instances\":[{\"user_id\":\"u001\",\"k\":$deep}]}"; do
    printf '%s' "$body" >"$WORK/deep.json"
    expect_eq "$(post_file /invocations "$WORK/deep.json")" 400 "$2: deep nesting ${body:0:30}"
    expect_contains "$WORK/body" '{"error":"JSON nested deeper than 32 levels at ' "$2: deep nesting names the limit"
  done
  printf '{"video_id":"v001","exclude":%s}' "$deep" >"$WORK/deep.json"
  expect_eq "$(post_file /similar "$WORK/deep.json")" 400 "$2: deep nesting on /similar"
  expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/ping")" 200 "$2: serving after deep nesting"
}
deep_cases 32000 serve
# History values: out of range or beyond double is a 400 naming the field;
# the bound itself still ranks.
expect_eq "$(post /invocations '{"user_id":"new","history":[{"videoId":"v001","value":1e15}]}')" 400 "history value 1e15"
expect_contains "$WORK/body" '"error":"history[0].value must be a number between -1e9 and 1e9, got 1e+15"' "1e15 named"
expect_eq "$(post /invocations '{"user_id":"new","history":[{"videoId":"v001","value":1e400}]}')" 400 "history value 1e400"
expect_contains "$WORK/body" '"error":"history[0].value must be a finite number, got 1e400"' "1e400 named"
expect_eq "$(post /invocations '{"instances":[{"user_id":"new","history":[{"videoId":"v001","value":-1e400}]}]}')" 400 "history value -1e400"
expect_contains "$WORK/body" '"error":"instances[0].history[0].value must be a finite number' "-1e400 named"
expect_eq "$(post /invocations '{"user_id":"new","history":[{"videoId":"v001","value":6e8},{"videoId":"v001","value":6e8}]}')" 400 "one video's values summing over 1e9"
expect_contains "$WORK/body" '"error":"history: the values of videoId \"v001\" must sum to between -1e9 and 1e9, got 1200000000.0"' "sum named"
expect_eq "$(post /invocations '{"user_id":"new","k":3,"history":[{"videoId":"v001","value":1e9},{"videoId":"v002","value":1e9}]}')" 200 "history value 1e9"
expect_eq "$(grep -o '"videoId"' "$WORK/body" | wc -l)" 3 "history value 1e9 ranks k videos"
expect_eq "$(post /invocations '{"user_id":"u001"}' text/plain)" 415 "wrong content type"
expect_eq "$(curl -s -o "$WORK/body" -w '%{http_code}' "$URL/nowhere")" 404 "unknown path"
expect_contains "$WORK/body" '"error":"no such endpoint: /nowhere"' "404 body"
expect_eq "$(curl -s -o "$WORK/body" -w '%{http_code}' "$URL/invocations")" 405 "GET /invocations"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$URL/ping")" 405 "DELETE /ping"

# Slow clients are cut off after the read timeout (1 s here), holding
# neither a thread nor the socket for long: one that goes silent mid-headers,
# and one that trickles its body a byte at a time, under the silence timeout.
start=$(date +%s)
first=$(timeout 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; printf 'POST /invocations HTTP/1.1\r\nHost: x\r\n' >&3; cat <&3")
expect_eq "$first" "" "silent client closed without an answer"
expect_eq "$(( $(date +%s) - start < 4 ))" 1 "silent client cut off after the read timeout"
start=$(date +%s)
timeout 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT
  printf 'POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n' >&3
  for i in \$(seq 1 40); do printf ' ' >&3 2>/dev/null || exit 0; sleep 0.3; done" 2>/dev/null
expect_eq "$(( $(date +%s) - start < 5 ))" 1 "trickling client cut off"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "$URL/ping")" 200 "serving after slow clients"

# What libmicrohttpd refuses itself, and requests never answered, all reach
# /metrics. raw BYTES -> the first line the server answers (empty: none).
# One write (cat): bytes arriving after the server's reply and close would
# make it reset the connection, and the reply could be lost.
raw() {
  printf "$1" >"$WORK/raw.req"
  timeout 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT; cat '$WORK/raw.req' >&3; head -1 <&3" 2>/dev/null | tr -d '\r'
}
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 10000 /dev/zero | tr '\0' a)" "$URL/ping")" 431 "headers over 8 KiB"
expect_eq "$(raw 'GET /ping HTTP/2.5\r\nHost: x\r\n\r\n')" "HTTP/1.1 505 HTTP Version Not Supported" "unknown HTTP version"
expect_eq "$(raw 'POST /similar HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n')" "HTTP/1.1 400 Bad Request" "header without a colon"
expect_eq "$(raw 'GARBAGE\r\n\r\n')" "" "unparsable request line: closed unanswered (libmicrohttpd 0.9.75)"
curl -s "$URL/metrics" >"$WORK/metrics"
expect_contains "$WORK/metrics" 'vidrec_requests_total{endpoint="/ping",status="431"} 1' "431 counted"
expect_contains "$WORK/metrics" 'vidrec_library_replies_total{status="505"} 1' "505 counted"
expect_contains "$WORK/metrics" 'vidrec_library_replies_total{status="431"} 1' "431 counted as libmicrohttpd's"
expect_contains "$WORK/metrics" 'vidrec_requests_total{endpoint="/similar",status="400"} 2' "libmicrohttpd's 400 counted (and deep nesting's)"
expect_contains "$WORK/metrics" 'vidrec_library_replies_total{status="400"} 1' "libmicrohttpd's 400 counted as its own"
expect_contains "$WORK/metrics" 'vidrec_requests_unanswered_total{endpoint="/invocations",reason="timeout"} 2' "timeouts counted"
grep -qE '^vidrec_connections_without_request_total [1-9]' "$WORK/metrics" && pass ||
  fail "unparsable request line not counted: $(grep connections "$WORK/metrics")"

# Hot reload under load: 300 requests while the file is replaced atomically
# (and SIGHUP sent); not one may fail.
load_in_background
for i in 1 2 3 4 5 6; do
  if [ $((i % 2)) -eq 1 ]; then src=b; else src=a; fi
  cp "$WORK/$src.vrm" "$WORK/live.tmp" && mv "$WORK/live.tmp" "$WORK/live.vrm"
  [ "$i" -eq 3 ] && kill -HUP "$SERVER_PID"
  sleep 0.4
done
cp "$WORK/b.vrm" "$WORK/live.tmp" && mv "$WORK/live.tmp" "$WORK/live.vrm"
timeout 60 tail --pid="$LOAD" -f /dev/null
expect_eq "$(wc -l <"$WORK/codes")" 300 "every request answered"
expect_eq "$(grep -vc '^200$' "$WORK/codes")" 0 "no failed request during reloads"
"$VIDREC" recommend --model "$WORK/b.vrm" --user u001 -k 3 >"$WORK/cli_b.json"
served=$(served_within_4s "$WORK/cli_b.json")
expect_eq "$served" 1 "the new model is served after the reloads"
expect_contains "$WORK/server.log" '"event":"model_loaded"' "reloads logged"

# A corrupt model dropped in place is refused; the old one keeps serving.
printf 'VRMDgarbage' >"$WORK/live.tmp" && mv "$WORK/live.tmp" "$WORK/live.vrm"
refused=0
for i in $(seq 1 40); do
  grep -q '"event":"model_refused"' "$WORK/server.log" && { refused=1; break; }
  sleep 0.1
done
expect_eq "$refused" 1 "corrupt model refused"
expect_eq "$(post /invocations '{"user_id":"u001","k":3}')" 200 "still serving after a refused model"
if cmp -s "$WORK/body" "$WORK/cli_b.json"; then pass; else fail "old model not kept: $(cat "$WORK/body")"; fi
curl -s "$URL/metrics" >"$WORK/metrics"
expect_contains "$WORK/metrics" "vidrec_model_load_failures_total 1" "refusal counted"

# Rewritten in place under load (cp onto the served file: same inode,
# truncated, then written), truncated, cut short: not one request may fail and
# the server may not fault; only complete, verified files are loaded, and the
# last complete one is served in the end.
load_in_background
for i in 1 2 3 4 5 6 7 8; do
  case $((i % 4)) in
    0) cp "$WORK/a.vrm" "$WORK/live.vrm" ;;
    1) cp "$WORK/b.vrm" "$WORK/live.vrm" ;;
    2) : >"$WORK/live.vrm" ;;
    3) head -c 1500 "$WORK/a.vrm" >"$WORK/live.vrm" ;;
  esac
  sleep 0.3
done
cp "$WORK/b.vrm" "$WORK/live.vrm"
timeout 60 tail --pid="$LOAD" -f /dev/null
expect_eq "$(wc -l <"$WORK/codes")" 300 "every request answered during in-place rewrites"
expect_eq "$(grep -vc '^200$' "$WORK/codes")" 0 "no failed request during in-place rewrites"
kill -0 "$SERVER_PID" 2>/dev/null && pass || fail "server died during in-place rewrites"
served=$(served_within_4s "$WORK/cli_b.json")
expect_eq "$served" 1 "the complete model is served after the rewrites"

# One access-log line per request, as JSON.
expect_contains "$WORK/server.log" '"method":"POST","path":"/invocations","status":200,"latency_ms":' "access log"

# SIGTERM: a clean exit.
kill -TERM "$SERVER_PID"
code=timeout
for i in $(seq 1 100); do
  kill -0 "$SERVER_PID" 2>/dev/null || { wait "$SERVER_PID"; code=$?; break; }
  sleep 0.1
done
SERVER_PID=""
expect_eq "$code" 0 "SIGTERM exits 0"
expect_contains "$WORK/server.log" '"event":"stopped"' "shutdown logged"

# The SageMaker contract on a temporary root, through docker/entrypoint.sh.
SM=$WORK/sm
mkdir -p "$SM/input/config" "$SM/input/data/training/day2"
# SageMaker's own keys, a tuning job's included, are ignored.
printf '{"factors":"2","iterations":"15","regularization":"0.1","alpha":"2.0","sagemaker_job":"x",%s}' \
  '"_tuning_objective_metric":"validation:ndcg@10"' >"$SM/input/config/hyperparameters.json"
head -30 "$ROOT/examples/interactions.csv" >"$SM/input/data/training/a.csv"
{ head -1 "$ROOT/examples/interactions.csv"; tail -n +31 "$ROOT/examples/interactions.csv"; } |
  gzip >"$SM/input/data/training/day2/b.csv.gz"
# Markers and checksums Spark leaves beside its output are no data.
: >"$SM/input/data/training/_SUCCESS"
echo "ignored" >"$SM/input/data/training/.a.csv.crc"
# A validation channel: videos the users have not watched, a user (u099) and
# a video (v099) the model does not know.
mkdir -p "$SM/input/data/validation"
{ head -1 "$ROOT/examples/interactions.csv"
  for uv in u001,v005 u002,v008 u003,v007 u004,v003 u006,v006 u008,v001 u099,v001 u007,v099; do
    echo "$uv,watch,1,USA,2025-02-01 10:00:00"; done; } | gzip >"$SM/input/data/validation/v.csv.gz"
export PATH="$(dirname "$VIDREC"):$PATH"
expect_exit 0 "sagemaker train" -- env SM_ROOT="$SM" bash "$ROOT/docker/entrypoint.sh" train -q
cp "$WORK/out" "$WORK/sm_out"
[ -s "$SM/model/model.vrm" ] && pass || fail "no model at model/model.vrm"
[ -e "$SM/output/failure" ] && fail "failure file after success" || pass
expect_exit 0 "same data as prepare+train" -- "$VIDREC" recommend --model "$SM/model/model.vrm" --user u001 -k 3
if cmp -s "$WORK/out" "$WORK/cli.json"; then pass; else fail "sagemaker model differs: $(cat "$WORK/out")"; fi
# The tuning metrics on stdout are `evaluate`'s figures on the prepared channel.
expect_eq "$(grep -c '^validation:' "$WORK/sm_out")" 5 "five validation metric lines"
"$VIDREC" prepare "$SM/input/data/validation/v.csv.gz" -o "$WORK/val.vrd" -q
"$VIDREC" evaluate --model "$SM/model/model.vrm" --test "$WORK/val.vrd" --json >"$WORK/val.json"
expect_contains "$WORK/val.json" '"users_unknown": 1' "the unknown validation user skipped"
model_figure() { # FILE NAME: the model's figure, printed as the tuning lines print it
  awk -v key="\"$2\":" '/^  "model": \{/ { inside = 1 } inside && index($0, key) { sub(/.*: */, ""); sub(/,$/, ""); printf "%.6f\n", $0; exit }' "$1"
}
for m in ndcg@10 precision@10 recall@10 map@10 auc; do
  expect_contains "$WORK/sm_out" "validation:$m=$(model_figure "$WORK/val.json" "${m%@10}")" "validation $m is evaluate's"
done

start_server "$WORK/sm.log" sh -c "SM_ROOT='$SM' SAGEMAKER_BIND_TO_PORT=\$PORT exec bash '$ROOT/docker/entrypoint.sh' \
  serve --host 127.0.0.1" || exit 1
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/ping")" 200 "sagemaker ping"
# The image's HEALTHCHECK: the binary asks the server itself.
expect_exit 0 "sagemaker ping command" -- env SAGEMAKER_BIND_TO_PORT="$PORT" "$VIDREC" sagemaker ping
expect_exit 2 "sagemaker ping, bad port variable" -- env SAGEMAKER_BIND_TO_PORT=80x "$VIDREC" sagemaker ping
expect_eq "$(post /invocations '{"user_id":"u001","k":3}')" 200 "sagemaker invocations"
if cmp -s "$WORK/body" "$WORK/cli.json"; then pass; else fail "sagemaker serve answer: $(cat "$WORK/body")"; fi
# 80,000 levels (160 KB, under its 6 MB limit) overflowed the stack of the
# old server (32,000, all --max-body allowed above, did not).
deep_cases 80000 sagemaker
stop_server
expect_exit 1 "sagemaker ping, server gone" -- env SAGEMAKER_BIND_TO_PORT="$PORT" "$VIDREC" sagemaker ping --timeout 2
expect_contains "$WORK/err" "/ping: Connection refused" "ping names the reason"

printf '{"factors":"many"}' >"$SM/input/config/hyperparameters.json"
expect_exit 2 "bad hyperparameter" -- "$VIDREC" sagemaker --root "$SM" train -q
expect_contains "$SM/output/failure" "hyperparameter factors must be a number, got 'many'" "failure reason written"
rm -f "$SM/output/failure"
printf '{"factors":"2"}' >"$SM/input/config/hyperparameters.json"
rm -rf "$SM/input/data"
expect_exit 1 "no data channel" -- "$VIDREC" sagemaker --root "$SM" train -q
expect_contains "$SM/output/failure" "no input data channel" "missing data reason"

finish
