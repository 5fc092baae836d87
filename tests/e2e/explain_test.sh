#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end tests of explanations, similar users, warm starts and
# `recommend --history` on the real binary: `explain`, `recommend --explain`
# and serve's "explain" agree byte for byte; --history answers what serve
# answers for the same history.
# Usage: explain_test.sh PATH/TO/vidrec PROJECT_ROOT
VIDREC=$1
ROOT=$2
. "$ROOT/tests/e2e/lib.sh"
. "$ROOT/tests/e2e/server_lib.sh"
py() { /usr/bin/python3 -c "$@"; }

taste_log 60 30 5 >"$WORK/log.csv"
expect_exit 0 "prepare" -- "$VIDREC" prepare "$WORK/log.csv" -o "$WORK/d.vrd" -q
M="$WORK/m.vrm"
expect_exit 0 "train" -- "$VIDREC" train "$WORK/d.vrd" -o "$M" --factors 8 --iterations 8 --weighting bm25 \
  --unobserved-weight 0.5 -q

# recommend --explain, then explain of its first recommendation.
expect_exit 0 "recommend --explain" -- "$VIDREC" recommend --model "$M" --user user003 -k 3 --explain -n 2
cp "$WORK/out" "$WORK/rec.json"
top=$(py 'import json,sys; print(json.load(open(sys.argv[1]))["recommendations"][0]["videoId"])' "$WORK/rec.json")
expect_exit 0 "explain" -- "$VIDREC" explain --model "$M" --user user003 --video "$top" -n 2
cp "$WORK/out" "$WORK/explain.json"
# OpenBLAS is loaded by the first BLAS or LAPACK call (lib/vidrec/base/blas.hpp):
# explain's solve loads it and gets the same answer; --version, train's CG
# solver and recommend never load it.
loads_openblas() { LD_DEBUG=files "$@" 2>&1 >/dev/null | grep -q 'file=libopenblas\.so\.0'; }
loads_openblas "$VIDREC" explain --model "$M" --user user003 --video "$top" -n 2 && pass ||
  fail "explain did not load libopenblas.so.0"
for cmd in "--version" "recommend --model $M --user user003 -k 3" \
  "train $WORK/d.vrd -o $WORK/cg.vrm --factors 8 --iterations 2 -q"; do
  # shellcheck disable=SC2086 # the words of each command
  loads_openblas "$VIDREC" $cmd && fail "vidrec $cmd loaded libopenblas.so.0" || pass
done
# Without a usable OpenBLAS the first solve fails naming the package, and
# what needs no BLAS still works. Needs a private mount namespace (root).
blas=$(readlink -f "$(ldconfig -p | awk '/libopenblas\.so\.0 .*x86-64/ { print $NF; exit }')")
if [ -f "$blas" ] && unshare -m true 2>/dev/null; then
  unshare -m sh -c 'mount --bind /dev/null "$1" && shift && "$@"' sh "$blas" "$VIDREC" explain --model "$M" \
    --user user003 --video "$top" >"$WORK/out" 2>"$WORK/err"
  expect_eq "$?" 1 "explain without OpenBLAS exits 1"
  expect_contains "$WORK/err" "cannot load libopenblas.so.0" "missing OpenBLAS named"
  expect_contains "$WORK/err" "(apt-get install libopenblas0)" "its package named"
  expect_contains "$WORK/err" "(apt-get install liblapack3)" "the fallback's package named"
  # With the reference LAPACK and BLAS found instead, explain works on them.
  ref=/usr/lib/x86_64-linux-gnu
  if [ -f $ref/lapack/liblapack.so.3 ] && [ -f $ref/blas/libblas.so.3 ]; then
    mkdir -p "$WORK/refblas"
    ln -sf $ref/lapack/liblapack.so.3 $ref/blas/libblas.so.3 "$WORK/refblas/"
    "$VIDREC" explain --model "$M" --user user003 --video "$top" -n 2 >"$WORK/with_openblas"
    unshare -m sh -c 'mount --bind /dev/null "$1" && shift && "$@"' sh "$blas" env LD_LIBRARY_PATH="$WORK/refblas" \
      LD_DEBUG=files "$VIDREC" explain --model "$M" --user user003 --video "$top" -n 2 >"$WORK/out" 2>"$WORK/err"
    expect_eq "$?" 0 "explain on the reference LAPACK"
    expect_contains "$WORK/err" "file=liblapack.so.3 [0];  dynamically loaded by" "the reference LAPACK loaded"
    # The same videos in the same order; the figures agree to print precision or nearly.
    expect_eq "$(grep -o '"videoId":"[^"]*"' "$WORK/out")" "$(grep -o '"videoId":"[^"]*"' "$WORK/with_openblas")" \
      "the same explanation on either library"
  fi
  unshare -m sh -c 'mount --bind /dev/null "$1" && shift && "$@"' sh "$blas" "$VIDREC" recommend --model "$M" \
    --user user003 -k 3 >"$WORK/out" 2>"$WORK/err"
  expect_eq "$?" 0 "recommend without OpenBLAS"
fi
# The because arrays as printed, cut from each output's bytes.
because() { grep -o '"because":\[[^]]*\]' "$1" | head -1; }
expect_eq "$(because "$WORK/explain.json")" "$(because "$WORK/rec.json")" "explain and recommend --explain agree"
expect_eq "$(py 'import json,sys; e=json.load(open(sys.argv[1]))
s=e["other"]+sum(c["contribution"] for c in e["because"])
print(abs(s-e["score"]) <= 1e-5*max(1,abs(e["score"])))' "$WORK/explain.json")" True "contributions sum to the score"
expect_exit 0 "explain csv" -- "$VIDREC" explain --model "$M" --user user003 --video "$top" --format csv
expect_contains "$WORK/out" "userId,videoId,score,modelScore,because,other" "explain csv header"
expect_exit 1 "explain unknown user" -- "$VIDREC" explain --model "$M" --user nobody --video "$top"
expect_contains "$WORK/err" "user 'nobody' is not in the model" "unknown user named"
expect_exit 2 "explain -n 0" -- "$VIDREC" explain --model "$M" --user user003 --video "$top" -n 0
# A model written before the training weights were stored: still served, not explained.
OLD="$ROOT/tests/data/v1/model.vrm"
expect_exit 0 "old model recommends" -- "$VIDREC" recommend --model "$OLD" --user u001
expect_exit 1 "old model not explained" -- "$VIDREC" recommend --model "$OLD" --user u001 --explain
expect_contains "$WORK/err" "does not keep its training weights" "old model: retrain named"
expect_exit 0 "recommend --explain csv" -- "$VIDREC" recommend --model "$M" --user user003 -k 2 --explain \
  --format csv
expect_contains "$WORK/out" "userId,rank,videoId,score,source,because" "csv because column"

# similar --user: never the user itself.
expect_exit 0 "similar --user" -- "$VIDREC" similar --model "$M" --user user003 -k 5 --format csv
expect_contains "$WORK/out" "userId,rank,similarUserId,score" "similar users header"
expect_eq "$(grep -c ',user003,' "$WORK/out")" 0 "a user is not similar to itself"
expect_eq "$(tail -n +2 "$WORK/out" | wc -l)" 5 "five similar users"
cp "$WORK/out" "$WORK/similar.csv"
expect_exit 2 "similar both" -- "$VIDREC" similar --model "$M" --user user003 --video "$top"

# --history: a fresh user's activity, from a file and from stdin.
printf 'videoId,value\nvid001,3\nvid002,1\nvid005,2\nnot-in-model,4\n' >"$WORK/h.csv"
expect_exit 0 "recommend --history" -- "$VIDREC" recommend --model "$M" --history "$WORK/h.csv" --user fresh -k 4 \
  --explain
cp "$WORK/out" "$WORK/hist.json"
expect_contains "$WORK/hist.json" '"because":[' "history recommendations explained"
"$VIDREC" recommend --model "$M" --history - --user fresh -k 4 --explain <"$WORK/h.csv" >"$WORK/hist2.json"
expect_eq "$(cat "$WORK/hist2.json")" "$(cat "$WORK/hist.json")" "history from stdin"
printf 'vid001,x\n' >"$WORK/bad.csv"
printf 'vid001,1\nvid002,x\n' >"$WORK/bad.csv"
expect_exit 1 "bad history" -- "$VIDREC" recommend --model "$M" --history "$WORK/bad.csv"
expect_contains "$WORK/err" "bad.csv:2:" "bad history line named"

start_server "$WORK/server.log" sh -c "exec '$VIDREC' serve --model '$M' --port \$PORT --threads 1 -q" || {
  fail "serve did not start"
  finish
  exit
}
expect_eq "$(post /invocations '{"user_id":"user003","k":3,"explain":true,"explain_n":2}')" 200 "serve explain"
expect_eq "$(cat "$WORK/body")" "$(cat "$WORK/rec.json")" "serve and recommend --explain agree byte for byte"
expect_eq "$(post /invocations '{"user_id":"fresh","k":4,"explain":true,"history":[{"videoId":"vid001","value":3},{"videoId":"vid002","value":1},{"videoId":"vid005","value":2},{"videoId":"not-in-model","value":4}]}')" 200 "serve history"
expect_eq "$(cat "$WORK/body")" "$(cat "$WORK/hist.json")" "recommend --history answers what serve answers"
expect_eq "$(post /invocations '{"user_id":"user003","explain_n":0}')" 400 "explain_n 0 refused"
expect_eq "$(post /similar '{"user_id":"user003","k":5}')" 200 "similar users"
expect_eq "$(py 'import json,sys; print(",".join(s["userId"] for s in json.load(open(sys.argv[1]))["similar"]))' "$WORK/body")" \
  "$(tail -n +2 "$WORK/similar.csv" | cut -d, -f3 | paste -sd,)" "serve and similar --user agree"
expect_eq "$(post /similar '{"user_id":"nobody"}')" 404 "unknown similar user"
expect_eq "$(post /similar '{"user_id":"user003","video_id":"vid001"}')" 400 "both ids refused"
stop_server

# Warm start: a next day's log, from yesterday's model.
taste_log 70 32 6 >"$WORK/log2.csv"
expect_exit 0 "prepare day 2" -- "$VIDREC" prepare "$WORK/log2.csv" -o "$WORK/d2.vrd" -q
expect_exit 0 "warm start" -- "$VIDREC" train "$WORK/d2.vrd" -o "$WORK/m2.vrm" --init-from "$M" --factors 8 \
  --iterations 3 --weighting bm25 --unobserved-weight 0.5 -q
expect_exit 0 "inspect warm" -- "$VIDREC" inspect "$WORK/m2.vrm"
expect_exit 2 "factors mismatch" -- "$VIDREC" train "$WORK/d2.vrd" -o "$WORK/m3.vrm" --init-from "$M" --factors 9 \
  --weighting bm25 --unobserved-weight 0.5 -q
expect_contains "$WORK/err" "has 8 factors, this training 9" "factor mismatch named"
expect_exit 2 "confidence mismatch" -- "$VIDREC" train "$WORK/d2.vrd" -o "$WORK/m3.vrm" --init-from "$M" \
  --factors 8 --weighting bm25 -q
expect_contains "$WORK/err" "--unobserved-weight" "confidence mismatch named"
expect_exit 1 "init-from missing" -- "$VIDREC" train "$WORK/d2.vrd" -o "$WORK/m3.vrm" --init-from "$WORK/none.vrm" -q
finish
