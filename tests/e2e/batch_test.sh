#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end tests of what a SageMaker batch transform sends to and reads
# from `vidrec serve` (JSON Lines and CSV bodies, Accept), and of the
# training channel as Spark/Athena leave it (part files, gzip, markers).
# Answers are checked against `vidrec recommend` on the same model.
# Usage: batch_test.sh PATH/TO/vidrec PROJECT_ROOT
VIDREC=$1
ROOT=$2
. "$ROOT/tests/e2e/lib.sh"
. "$ROOT/tests/e2e/server_lib.sh"

"$VIDREC" prepare "$ROOT/examples/interactions.csv" -o "$WORK/ex.vrd" -q &&
  "$VIDREC" train "$WORK/ex.vrd" -o "$WORK/a.vrm" --config "$ROOT/examples/train.toml" -q ||
  { echo "setup failed"; exit 1; }
cli() { "$VIDREC" recommend --model "$WORK/a.vrm" "$@"; }
cli --user u001 -k 3 >"$WORK/u001.json"
cli --user ghost -k 2 >"$WORK/ghost.json"
cli --user u001 --user ghost -k 3 --format csv >"$WORK/two.csv"
cli --user u001 --user ghost -k 2 --format csv >"$WORK/two_k2.csv"

# call TYPE ACCEPT BODY [QUERY] -> status on stdout, body in $WORK/body, headers in $WORK/headers
call() {
  curl -s -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' -H "Content-Type: $1" -H "Accept: $2" \
    --data-binary "$3" "http://127.0.0.1:$PORT/invocations${4-}"
}
reply_type() { tr -d '\r' <"$WORK/headers" | sed -n 's/^[Cc]ontent-[Tt]ype: //p'; }

start_server "$WORK/server.log" sh -c "exec '$VIDREC' serve --model '$WORK/a.vrm' --port \$PORT -q" || exit 1
LINES=$(printf '{"user_id":"u001","k":3}\r\n\n{"user_id":"ghost","k":2}\n')

# JSON Lines in, JSON Lines out: one line per request, in order, as recommend prints them.
for type in application/jsonlines "application/x-jsonlines; charset=utf-8" application/jsonl; do
  expect_eq "$(call "$type" application/jsonlines "$LINES")" 200 "jsonlines in ($type)"
  if cat "$WORK/u001.json" "$WORK/ghost.json" | cmp -s - "$WORK/body"; then pass; else fail "jsonlines answer: $(cat "$WORK/body")"; fi
done
expect_eq "$(reply_type)" "application/jsonlines" "jsonlines reply type"
# ... and JSON out when Accept says nothing, */* or json: one batch.
for accept in "" "*/*" "application/json" "text/csv;q=0.5, application/json"; do
  expect_eq "$(call application/jsonlines "$accept" "$LINES")" 200 "jsonlines, Accept '$accept'"
  expect_eq "$(cat "$WORK/body")" "{\"predictions\":[$(cat "$WORK/u001.json"),$(cat "$WORK/ghost.json")]}" "JSON batch for '$accept'"
done
# CSV in (k from ?k=), CSV out: exactly recommend --format csv, source column included.
expect_eq "$(call "text/csv; charset=utf-8" "text/csv" "$(printf 'userId\r\nu001\r\nghost\r\n')" '?k=3')" 200 "csv in, csv out"
if cmp -s "$WORK/body" "$WORK/two.csv"; then pass; else fail "csv answer: $(cat "$WORK/body")"; fi
expect_eq "$(reply_type)" "text/csv; charset=utf-8" "csv reply type"
expect_eq "$(tail -1 "$WORK/body" | cut -d, -f5)" "popular" "ghost's rows say popular"
# q-values choose: CSV wins over JSON Lines here, JSON Lines there.
expect_eq "$(call application/jsonlines "application/jsonlines;q=0.4, text/*;q=0.8" "$LINES")" 200 "q-values"
expect_eq "$(head -1 "$WORK/body")" "userId,rank,videoId,score,source" "text/* at the higher q"
expect_eq "$(call text/csv "text/csv;q=0.1, application/jsonlines" "u001" '?k=3')" 200 "csv in, lines out"
if cmp -s "$WORK/body" "$WORK/u001.json"; then pass; else fail "csv in, lines out: $(cat "$WORK/body")"; fi
# A JSON request may ask for CSV too; without ?k= a CSV body gets 10.
expect_eq "$(call application/json text/csv '{"instances":[{"user_id":"u001","k":2},{"user_id":"ghost","k":2}]}')" 200 "json in, csv out"
if cmp -s "$WORK/body" "$WORK/two_k2.csv"; then pass; else fail "json in, csv out: $(cat "$WORK/body")"; fi
expect_eq "$(call text/csv application/jsonlines "ghost")" 200 "csv without k"
expect_eq "$(grep -o '"videoId"' "$WORK/body" | wc -l)" "$(cli --user ghost -k 10 | grep -o '"videoId"' | wc -l)" "default k 10"

# Refusals: 400 names the line, 406 says what could be sent, 415 as before.
expect_eq "$(call application/jsonlines "" "$(printf '{"user_id":"u001"}\n{"user":"x"}\n')")" 400 "bad jsonlines line"
expect_contains "$WORK/body" '"error":"line 2: user_id is required (a string)"' "bad line named"
expect_eq "$(call text/csv "" "$(printf 'u001\nu002,7\n')")" 400 "two fields in a csv line"
expect_contains "$WORK/body" "line 2: expected one user id" "csv line named"
expect_eq "$(call text/csv "" "u001" '?k=100000')" 400 "huge k"
expect_contains "$WORK/body" "the query parameter k must be an integer between 1 and 10000, got '100000'" "k named"
expect_eq "$(call application/json "text/html, image/png" '{"user_id":"u001"}')" 406 "nothing acceptable"
expect_contains "$WORK/body" "/invocations answers application/json, application/jsonlines or text/csv" "406 says what it can send"
expect_eq "$(call application/json "application/json;q=0" '{"user_id":"u001"}')" 406 "json refused by q=0"
expect_eq "$(call text/plain "" "u001")" 415 "unknown body type"
expect_contains "$WORK/body" "Content-Type must be application/json, application/jsonlines or text/csv" "415 lists the types"
curl -s "http://127.0.0.1:$PORT/metrics" >"$WORK/metrics"
expect_contains "$WORK/metrics" 'vidrec_requests_total{endpoint="/invocations",status="406"} 2' "406 counted"
expect_contains "$WORK/metrics" 'vidrec_requests_total{endpoint="/invocations",status="415"} 1' "415 counted"
expect_contains "$WORK/metrics" 'vidrec_requests_total{endpoint="/invocations",status="400"} 3' "400 counted"
stop_server

# SageMaker: Spark's part files (no extension, no header, one gzipped) beside
# its markers give the model one CSV gives; prepare's figures go to output/data.
sm_root() { # DIR HYPERPARAMETERS
  mkdir -p "$1/input/config" "$1/input/data/training"
  printf '{"factors":"2","iterations":"15","regularization":"0.1","alpha":"2.0"}' >"$1/input/config/hyperparameters.json"
}
sm_root "$WORK/one"
cp "$ROOT/examples/interactions.csv" "$WORK/one/input/data/training/all.csv"
echo "u001,v001,watch,oops,USA,2025-01-01 10:10:00" >>"$WORK/one/input/data/training/all.csv"
sm_root "$WORK/parts"
P=$WORK/parts/input/data/training
sed -n 2,20p "$WORK/one/input/data/training/all.csv" >"$P/part-00000"
tail -n +21 "$WORK/one/input/data/training/all.csv" | gzip >"$P/part-00001.gz"
: >"$P/_SUCCESS"
echo "not data" >"$P/.part-00000.crc"
echo "not data" >"$P/part-00001.gz.crc"
for dir in one parts; do
  expect_exit 0 "sagemaker train ($dir)" -- "$VIDREC" sagemaker --root "$WORK/$dir" train -q
  "$VIDREC" recommend --model "$WORK/$dir/model/model.vrm" --all -k 5 --format csv >"$WORK/$dir.csv"
  ls "$WORK/$dir/output/data" >"$WORK/$dir.ls"
  expect_eq "$(tr '\n' ' ' <"$WORK/$dir.ls")" "prepare_summary.json rejects.csv " "output/data ($dir)"
  expect_contains "$WORK/$dir/output/data/prepare_summary.json" '"rows_malformed": 1' "summary counts the bad row ($dir)"
  expect_contains "$WORK/$dir/output/data/rejects.csv" "oops" "the bad row in rejects ($dir)"
done
expect_contains "$WORK/err" "2 input files" "markers and checksums skipped"
if cmp -s "$WORK/one.csv" "$WORK/parts.csv"; then pass; else fail "part files trained another model"; fi
grep -h rows_valid "$WORK/one/output/data/prepare_summary.json" >"$WORK/one.valid"
grep -h rows_valid "$WORK/parts/output/data/prepare_summary.json" >"$WORK/parts.valid"
if cmp -s "$WORK/one.valid" "$WORK/parts.valid"; then pass; else fail "rows_valid differ"; fi

# A transform job sets k for CSV bodies through the environment.
start_server "$WORK/sm.log" sh -c "VIDREC_CSV_K=2 SAGEMAKER_BIND_TO_PORT=\$PORT exec '$VIDREC' sagemaker \
  --root '$WORK/one' serve --host 127.0.0.1 -q" || exit 1
expect_eq "$(call text/csv text/csv "$(printf 'u001\nghost\n')")" 200 "sagemaker csv"
"$VIDREC" recommend --model "$WORK/one/model/model.vrm" --user u001 --user ghost -k 2 --format csv >"$WORK/sm_k2.csv"
if cmp -s "$WORK/body" "$WORK/sm_k2.csv"; then pass; else fail "VIDREC_CSV_K=2 answer: $(cat "$WORK/body")"; fi
stop_server
expect_exit 2 "bad VIDREC_CSV_K" -- env VIDREC_CSV_K=0 "$VIDREC" sagemaker --root "$WORK/one" serve
expect_contains "$WORK/err" "VIDREC_CSV_K must be an integer between 1 and 10000, got '0'" "VIDREC_CSV_K named"

finish
