#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end tests of the ANN index (`train --ann hnsw`, `vidrec index`, and
# recommend/similar/serve searching through it) on the real binary.
# Usage: ann_test.sh PATH/TO/vidrec PROJECT_ROOT
VIDREC=$1
ROOT=$2
. "$ROOT/tests/e2e/lib.sh"
. "$ROOT/tests/e2e/server_lib.sh"

taste_log 120 40 3 >"$WORK/log.csv"
"$VIDREC" prepare "$WORK/log.csv" -o "$WORK/d.vrd" -q &&
  "$VIDREC" train "$WORK/d.vrd" -o "$WORK/plain.vrm" --factors 8 --iterations 3 -q &&
  "$VIDREC" train "$WORK/d.vrd" -o "$WORK/b.vrm" --factors 8 --iterations 3 --seed 7 --ann hnsw --ann-m 8 -q ||
  { echo "setup failed"; exit 1; }

# train --ann and vidrec index store the index; inspect reports it.
expect_exit 0 "inspect trained index" -- "$VIDREC" inspect "$WORK/b.vrm"
expect_contains "$WORK/out" '"method":"hnsw"' "inspect shows the index"
expect_contains "$WORK/out" '"m":8' "train's --ann-m recorded"
expect_exit 0 "index" -- "$VIDREC" index "$WORK/plain.vrm" -o "$WORK/a.vrm" --threads 1
expect_contains "$WORK/err" "videos, " "summary on stderr"
expect_exit 0 "inspect index" -- "$VIDREC" inspect "$WORK/a.vrm"
expect_contains "$WORK/out" '"deterministic":true' "--threads 1 is the reproducible build"
expect_exit 0 "index in place" -- "$VIDREC" index "$WORK/b.vrm" -q
expect_exit 2 "bad --ann-m" -- "$VIDREC" index "$WORK/plain.vrm" -o "$WORK/x.vrm" --ann-m 1
expect_contains "$WORK/err" "--ann-m must be in 2..256, got 1" "rule named"

# Exhaustive search (ef >= videos) answers exactly what exact scoring does;
# --exact and a model without index answer the same.
"$VIDREC" recommend --model "$WORK/plain.vrm" --all -k 10 >"$WORK/plain.jsonl"
expect_exit 0 "exact" -- "$VIDREC" recommend --model "$WORK/a.vrm" --all -k 10 --exact
cmp -s "$WORK/out" "$WORK/plain.jsonl" && pass || fail "--exact differs from the model without index"
expect_exit 0 "ef 1000" -- "$VIDREC" recommend --model "$WORK/a.vrm" --all -k 10 --ef 1000
cmp -s "$WORK/out" "$WORK/plain.jsonl" && pass || fail "ef >= videos differs from exact"
expect_exit 0 "default ef" -- "$VIDREC" recommend --model "$WORK/a.vrm" --all -k 10
expect_eq "$(grep -c '"recommendations"' "$WORK/out")" 120 "one answer per user"
expect_eq "$(grep -o '"videoId"' "$WORK/out" | wc -l)" 1200 "k videos each"
"$VIDREC" similar --model "$WORK/plain.vrm" --video vid001 --video vid050 -k 5 >"$WORK/sim.jsonl"
expect_exit 0 "similar ef 1000" -- "$VIDREC" similar --model "$WORK/a.vrm" --video vid001 --video vid050 -k 5 --ef 1000
cmp -s "$WORK/out" "$WORK/sim.jsonl" && pass || fail "similar through the index differs at ef >= videos"
expect_exit 2 "ef too large" -- "$VIDREC" recommend --model "$WORK/a.vrm" --user user001 --ef 100001
expect_contains "$WORK/err" "--ef must be <= 100000" "ef rule named"

# A damaged index section is refused (exit 1, the file named), never used.
/usr/bin/python3 - "$WORK/a.vrm" "$WORK/bad.vrm" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
for i in range(struct.unpack_from("<I", b, 12)[0]):
    tag, _, off, size, _ = struct.unpack_from("<4sIQQQ", b, 64 + 32 * i)
    if tag == b"ANNI":
        b[off + size // 2] ^= 0x40
open(sys.argv[2], "wb").write(b)
PY
expect_exit 1 "damaged index" -- "$VIDREC" recommend --model "$WORK/bad.vrm" --user user001
expect_contains "$WORK/err" "bad.vrm" "the file named"

# serve: "ef" per request; the indexed model is hot-reloaded with its index.
cp "$WORK/a.vrm" "$WORK/live.vrm"
start_server "$WORK/server.log" sh -c "exec '$VIDREC' serve --model '$WORK/live.vrm' --port \$PORT" || exit 1
"$VIDREC" recommend --model "$WORK/a.vrm" --user user007 -k 5 --ef 1000 >"$WORK/cli_a.json"
expect_eq "$(post /invocations '{"user_id":"user007","k":5,"ef":1000}')" 200 "ef accepted"
cmp -s "$WORK/body" "$WORK/cli_a.json" && pass || fail "serve with ef differs from the CLI: $(cat "$WORK/body")"
expect_eq "$(post /invocations '{"user_id":"user007","ef":0}')" 400 "ef 0 refused"
expect_contains "$WORK/body" "ef must be an integer between 1 and 100000" "ef rule named"
expect_eq "$(post /similar '{"video_id":"vid001","k":5,"ef":1000}')" 200 "similar with ef"
"$VIDREC" recommend --model "$WORK/b.vrm" --user user007 -k 5 --ef 1000 >"$WORK/cli_b.json"
cp "$WORK/b.vrm" "$WORK/live.tmp" && mv "$WORK/live.tmp" "$WORK/live.vrm"
served=0
for i in $(seq 1 40); do
  post /invocations '{"user_id":"user007","k":5,"ef":1000}' >/dev/null
  cmp -s "$WORK/body" "$WORK/cli_b.json" && { served=1; break; }
  sleep 0.1
done
expect_eq "$served" 1 "the replaced indexed model is served"
stop_server
finish
