#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end tests of locations and negative feedback on the real binary:
# prepare keeps each user's location, train ranks each location's popular
# videos, recommend and serve give them to users without a profile (unknown
# users, and known users whose only pairs are dislikes).
# Usage: location_test.sh PATH/TO/vidrec PROJECT_ROOT
VIDREC=$1
ROOT=$2
. "$ROOT/tests/e2e/lib.sh"
. "$ROOT/tests/e2e/server_lib.sh"

# Users' locations: f1 f2 f3 FR, d1 d2 DE, mover FR (2 rows) over DE (1),
# neg DE with nothing but dislikes and skips (negative values).
# Popularity, users with a positive pair: v1 3, v4 2, v5 2, v2 1, v3 1, v6 1 (7 users).
# FR (f1 f2 f3 mover): v1 3, then v2 v3 v5 v6 1 each. DE (d1 d2 neg): v4 2, v5 1.
cat >"$WORK/log.csv" <<'EOF'
userId,videoId,interactionType,interactionValue,location,timestamp
f1,v1,watch,1,FR,2025-01-01 10:00:00
f1,v2,like,2,FR,2025-01-01 10:01:00
f2,v1,watch,1,FR,2025-01-01 10:02:00
f2,v3,watch,1,FR,2025-01-01 10:03:00
f3,v1,complete,3,FR,2025-01-01 10:04:00
d1,v4,watch,1,DE,2025-01-01 10:05:00
d1,v5,watch,1,DE,2025-01-01 10:06:00
d2,v4,like,2,DE,2025-01-01 10:07:00
d2,v1,dislike,-1,DE,2025-01-01 10:08:00
neg,v1,dislike,-2,DE,2025-01-01 10:09:00
neg,v2,skip,-1,DE,2025-01-01 10:10:00
mover,v5,watch,1,FR,2025-01-01 10:11:00
mover,v5,like,2,FR,2025-01-01 10:12:00
mover,v6,watch,1,DE,2025-01-01 10:13:00
EOF

expect_exit 0 "prepare" -- "$VIDREC" prepare "$WORK/log.csv" -o "$WORK/d.vrd" --summary-json "$WORK/s.json" -q
expect_contains "$WORK/s.json" '"rows_valid": 14' "negative values are valid rows"
expect_contains "$WORK/s.json" '"rows_malformed": 0' "no row rejected"
expect_exit 0 "inspect dataset" -- "$VIDREC" inspect "$WORK/d.vrd"
expect_contains "$WORK/out" "users 7, videos 6, locations 2," "dataset locations counted"
expect_exit 0 "train" -- "$VIDREC" train "$WORK/d.vrd" -o "$WORK/m.vrm" --factors 4 --iterations 5 -q
expect_exit 0 "inspect model" -- "$VIDREC" inspect "$WORK/m.vrm" --json
expect_contains "$WORK/out" '"locations": 2,' "model locations counted"
M=$WORK/m.vrm

# An unknown user with --location: that location's popular videos, padded from the global order.
expect_exit 0 "unknown user, DE" -- "$VIDREC" recommend --model "$M" --user newbie --location DE -k 3
expect_eq "$(cat "$WORK/out")" '{"userId":"newbie","source":"popular","location":"DE","recommendations":[{"videoId":"v4","score":0.6666667},{"videoId":"v5","score":0.33333334},{"videoId":"v1","score":0}]}' "DE's popular videos, padded"
expect_exit 0 "unknown user, FR" -- "$VIDREC" recommend --model "$M" --user newbie --location FR -k 2
expect_contains "$WORK/out" '"location":"FR","recommendations":[{"videoId":"v1","score":0.75},{"videoId":"v2","score":0.25}]' "FR's popular videos"
# An unknown location: global popularity, no location marked.
expect_exit 0 "unknown location" -- "$VIDREC" recommend --model "$M" --user newbie --location XX -k 2
expect_eq "$(cat "$WORK/out")" '{"userId":"newbie","source":"popular","recommendations":[{"videoId":"v1","score":0.42857143},{"videoId":"v4","score":0.2857143}]}' "global popularity"

# neg disliked everything it saw: no profile; its location DE, v1 and v2 (seen) excluded.
expect_exit 0 "only negative pairs" -- "$VIDREC" recommend --model "$M" --user neg -k 3
expect_eq "$(cat "$WORK/out")" '{"userId":"neg","source":"popular","location":"DE","recommendations":[{"videoId":"v4","score":0.6666667},{"videoId":"v5","score":0.33333334},{"videoId":"v3","score":0}]}' "no profile: popular in its location"
expect_exit 0 "only negative pairs, FR" -- "$VIDREC" recommend --model "$M" --user neg --location FR -k 2
expect_contains "$WORK/out" '"location":"FR","recommendations":[{"videoId":"v3","score":0.25},{"videoId":"v5","score":0.25}]' "--location replaces the stored one"
# A user with a profile is scored by the model, --location or not.
expect_exit 0 "profile ignores --location" -- "$VIDREC" recommend --model "$M" --user f1 --location DE -k 2
grep -q '"source"\|"location"' "$WORK/out" && fail "a user with a profile got a fallback: $(cat "$WORK/out")" || pass
# Several users and CSV: the same answers; CSV's source column says popular.
expect_exit 0 "all users" -- "$VIDREC" recommend --model "$M" --all -k 3 --format jsonl
expect_contains "$WORK/out" '{"userId":"neg","source":"popular","location":"DE","recommendations":[{"videoId":"v4"' "--all: no profile"
expect_exit 0 "csv" -- "$VIDREC" recommend --model "$M" --user neg --user newbie --location DE -k 2 --format csv
expect_eq "$(cat "$WORK/out")" "$(printf 'userId,rank,videoId,score,source\nneg,1,v4,0.6666667,popular\nneg,2,v5,0.33333334,popular\nnewbie,1,v4,0.6666667,popular\nnewbie,2,v5,0.33333334,popular')" "csv rows"

# split keeps the locations in both parts.
expect_exit 0 "split" -- "$VIDREC" split "$WORK/d.vrd" -o "$WORK/train.vrd" --test "$WORK/test.vrd" --test-fraction 0.5 -q
for part in train test; do
  expect_exit 0 "inspect $part" -- "$VIDREC" inspect "$WORK/$part.vrd"
  expect_contains "$WORK/out" "locations 2," "$part part keeps the locations"
done

# serve: "location" in /invocations, one and batched; hostile values refused.
start_server "$WORK/server.log" sh -c "exec '$VIDREC' serve --model '$M' --port \$PORT --threads 1 -q" || {
  fail "serve did not start"
  finish
  exit 1
}
expect_eq "$(post /invocations '{"user_id":"newbie","k":3,"location":"DE"}')" 200 "serve: location"
"$VIDREC" recommend --model "$M" --user newbie --location DE -k 3 >"$WORK/cli.json"
cmp -s "$WORK/body" "$WORK/cli.json" && pass || fail "serve != recommend: $(cat "$WORK/body")"
expect_eq "$(post /invocations '{"user_id":"neg","k":3}')" 200 "serve: no profile"
"$VIDREC" recommend --model "$M" --user neg -k 3 >"$WORK/cli.json"
cmp -s "$WORK/body" "$WORK/cli.json" && pass || fail "serve != recommend for neg: $(cat "$WORK/body")"
expect_eq "$(post /invocations '{"instances":[{"user_id":"newbie","k":1,"location":"FR"},{"user_id":"neg","k":1,"location":"XX"}]}')" 200 "serve: batch"
expect_eq "$(cat "$WORK/body")" '{"predictions":[{"userId":"newbie","source":"popular","location":"FR","recommendations":[{"videoId":"v1","score":0.75}]},{"userId":"neg","source":"popular","recommendations":[{"videoId":"v4","score":0.2857143}]}]}' "serve: batch answers"
expect_eq "$(post /invocations '{"user_id":"newbie","location":5}')" 400 "serve: location a number"
expect_contains "$WORK/body" '"error":"location must be a string' "serve: the field named"
expect_eq "$(post /invocations "{\"user_id\":\"newbie\",\"location\":\"$(head -c 5000 /dev/zero | tr '\0' x)\"}")" 400 "serve: huge location"
expect_eq "$(post /invocations "$(printf '{"user_id":"newbie","location":"\xff\xfe"}')")" 400 "serve: location not UTF-8"
expect_eq "$(post /invocations '{"instances":[{"user_id":"a"},{"user_id":"b","location":["DE"]}]}')" 400 "serve: batch location an array"
expect_contains "$WORK/body" 'instances[1].location' "serve: the instance named"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/ping")" 200 "serve: still up"
stop_server

finish
