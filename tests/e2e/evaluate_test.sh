#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end tests of `vidrec split` and `vidrec evaluate` on the real binary:
# prepare -> split -> train -> evaluate, options, exit codes and messages.
# Usage: evaluate_test.sh PATH/TO/vidrec PROJECT_ROOT
VIDREC=$1
ROOT=$2
. "$ROOT/tests/e2e/lib.sh"

# 400 users (ids unlike the examples') in 4 taste groups, each watching ~20
# of its group's 30 videos (plus a little noise), one event per minute so the
# time split is well defined.
taste_log 400 24 3 >"$WORK/log.csv"
"$VIDREC" prepare "$WORK/log.csv" -o "$WORK/all.vrd" -q || { echo "prepare failed"; exit 1; }
"$VIDREC" prepare "$ROOT/examples/interactions.csv" -o "$WORK/ex.vrd" -q || { echo "prepare failed"; exit 1; }

# split: usage errors exit 2 and name the rule, data errors exit 1 and name the file.
expect_exit 2 "split without --test" -- "$VIDREC" split "$WORK/all.vrd" -o "$WORK/tr.vrd"
expect_exit 2 "split fraction 0" -- "$VIDREC" split "$WORK/all.vrd" -o "$WORK/tr.vrd" --test "$WORK/te.vrd" --test-fraction 0
expect_contains "$WORK/err" "test-fraction must be > 0 and < 1, got 0" "fraction rule named"
expect_exit 2 "split fraction 1.5" -- "$VIDREC" split "$WORK/all.vrd" -o "$WORK/tr.vrd" --test "$WORK/te.vrd" --test-fraction 1.5
expect_exit 2 "split --by unknown" -- "$VIDREC" split "$WORK/all.vrd" -o "$WORK/tr.vrd" --test "$WORK/te.vrd" --by user
expect_exit 2 "split same outputs" -- "$VIDREC" split "$WORK/all.vrd" -o "$WORK/tr.vrd" --test "$WORK/tr.vrd"
expect_exit 1 "split missing dataset" -- "$VIDREC" split "$WORK/none.vrd" -o "$WORK/tr.vrd" --test "$WORK/te.vrd"
expect_contains "$WORK/err" "none.vrd" "missing dataset named"
expect_exit 1 "split a csv" -- "$VIDREC" split "$WORK/log.csv" -o "$WORK/tr.vrd" --test "$WORK/te.vrd"
expect_contains "$WORK/err" "log.csv" "csv named"
# Example users have at most 4 videos: floor(4 * 0.2) = 0, nothing to hold out.
expect_exit 1 "split with nothing to hold out" -- "$VIDREC" split "$WORK/ex.vrd" -o "$WORK/tr.vrd" --test "$WORK/te.vrd"
expect_contains "$WORK/err" "needs at least 5 distinct videos" "holdout rule explained"
expect_eq "$(ls "$WORK" | grep -c '^t[re]\.vrd$')" "0" "failed splits write nothing"

# A normal split: summary on stderr, both parts keep every id, provenance.
expect_exit 0 "split by time" -- "$VIDREC" split "$WORK/all.vrd" -o "$WORK/train.vrd" --test "$WORK/test.vrd"
expect_contains "$WORK/err" "split: 400 users (400 with a test part)" "split summary"
"$VIDREC" inspect --json "$WORK/all.vrd" >"$WORK/all.json"
"$VIDREC" inspect --json "$WORK/train.vrd" >"$WORK/train.json"
"$VIDREC" inspect --json "$WORK/test.vrd" >"$WORK/test.json"
users=$(grep -m1 '"users"' "$WORK/all.json")
expect_contains "$WORK/train.json" "$users" "train keeps every user"
expect_contains "$WORK/test.json" "$users" "test keeps every user"
pairs() { grep -m1 '"pairs": [0-9]' "$1" | tr -dc 0-9; }
expect_eq "$(($(pairs "$WORK/train.json") + $(pairs "$WORK/test.json")))" "$(pairs "$WORK/all.json")" "pairs add up"
expect_contains "$WORK/test.json" '"part": "test"' "test provenance part"
expect_contains "$WORK/test.json" '"by": "time"' "test provenance by"
checksum=$(grep -m1 '"content_checksum"' "$WORK/all.json" | tr -d ' ,')
expect_contains "$WORK/test.json" "$(echo "$checksum" | sed 's/:/: /')" "input checksum recorded"

# Random split: the same seed gives the same parts.
cs() { "$VIDREC" inspect --json "$1" | grep -m1 '"content_checksum"'; }
"$VIDREC" split "$WORK/all.vrd" -o "$WORK/r1.vrd" --test "$WORK/r1t.vrd" --by random --seed 5 -q
"$VIDREC" split "$WORK/all.vrd" -o "$WORK/r2.vrd" --test "$WORK/r2t.vrd" --by random --seed 5 -q
"$VIDREC" split "$WORK/all.vrd" -o "$WORK/r3.vrd" --test "$WORK/r3t.vrd" --by random --seed 6 -q
expect_eq "$(cs "$WORK/r1t.vrd")" "$(cs "$WORK/r2t.vrd")" "random split deterministic"
if [ "$(cs "$WORK/r1t.vrd")" != "$(cs "$WORK/r3t.vrd")" ]; then pass; else fail "another seed, another split"; fi

# The output lock covers both outputs.
exec 9>"$WORK/test.vrd.lock"
flock -n 9
expect_exit 1 "concurrent split" -- "$VIDREC" split "$WORK/all.vrd" -o "$WORK/x.vrd" --test "$WORK/test.vrd"
expect_contains "$WORK/err" "another vidrec is writing" "lock message"
exec 9>&-

"$VIDREC" train "$WORK/train.vrd" -o "$WORK/m.vrm" --factors 8 --iterations 8 -q || { echo "train failed"; exit 1; }

# evaluate: usage and data errors.
expect_exit 2 "evaluate without --test" -- "$VIDREC" evaluate --model "$WORK/m.vrm"
expect_exit 2 "evaluate k 0" -- "$VIDREC" evaluate --model "$WORK/m.vrm" --test "$WORK/test.vrd" -k 0
expect_contains "$WORK/err" "k must be >= 1, got 0" "k rule named"
expect_exit 2 "evaluate k -1" -- "$VIDREC" evaluate --model "$WORK/m.vrm" --test "$WORK/test.vrd" -k -1
expect_exit 1 "evaluate missing test" -- "$VIDREC" evaluate --model "$WORK/m.vrm" --test "$WORK/none.vrd"
expect_contains "$WORK/err" "none.vrd" "missing test named"
expect_exit 1 "evaluate dataset as model" -- "$VIDREC" evaluate --model "$WORK/train.vrd" --test "$WORK/test.vrd"
expect_contains "$WORK/err" "train.vrd" "wrong model named"
size=$(wc -c <"$WORK/m.vrm")
head -c $((size - 64)) "$WORK/m.vrm" >"$WORK/trunc.vrm"
expect_exit 1 "evaluate truncated model" -- "$VIDREC" evaluate --model "$WORK/trunc.vrm" --test "$WORK/test.vrd"
expect_contains "$WORK/err" "trunc.vrm: truncated" "truncated model named"
expect_exit 1 "evaluate with no shared users" -- "$VIDREC" evaluate --model "$WORK/m.vrm" --test "$WORK/ex.vrd"
expect_contains "$WORK/err" "known to the model" "no shared users explained"

# A normal run: a table by default, JSON with --json; the model beats the
# popularity baseline on planted tastes; the thread count changes nothing.
expect_exit 0 "evaluate" -- "$VIDREC" evaluate --model "$WORK/m.vrm" --test "$WORK/test.vrd"
expect_contains "$WORK/out" "ndcg@10" "table row"
expect_contains "$WORK/out" "popularity" "baseline column"
expect_contains "$WORK/out" "400 evaluated" "users evaluated"
expect_exit 0 "evaluate --json" -- "$VIDREC" evaluate --model "$WORK/m.vrm" --test "$WORK/test.vrd" --json -k 5 --threads 1
cp "$WORK/out" "$WORK/eval1.json"
expect_contains "$WORK/eval1.json" '"k": 5' "json k"
expect_contains "$WORK/eval1.json" '"users_evaluated": 400' "json users"
expect_contains "$WORK/eval1.json" '"pairs_seen_in_training": 0' "disjoint split"
ndcg() { awk -v part="$2" '$0 ~ "\"" part "\"" { inside = 1 } inside && /"ndcg"/ { gsub(/[^0-9.e-]/, ""); print; exit }' "$1"; }
model_ndcg=$(ndcg "$WORK/eval1.json" model)
pop_ndcg=$(ndcg "$WORK/eval1.json" popularity)
if awk -v a="$model_ndcg" -v b="$pop_ndcg" 'BEGIN { exit !(a > b && a > 0 && a <= 1) }'; then pass; else
  fail "model ndcg $model_ndcg should beat popularity $pop_ndcg"; fi
"$VIDREC" evaluate --model "$WORK/m.vrm" --test "$WORK/test.vrd" --json -k 5 --threads 2 >"$WORK/eval2.json"
expect_eq "$(cat "$WORK/eval2.json")" "$(cat "$WORK/eval1.json")" "same figures with 2 threads"

# evaluate ranks what recommend lists: the model's figures recomputed by awk
# from `recommend --all` and the test pairs (`inspect --dump`) are evaluate's.
"$VIDREC" recommend --model "$WORK/m.vrm" --all -k 5 --format csv -q >"$WORK/rec.csv"
"$VIDREC" inspect --dump csv "$WORK/test.vrd" >"$WORK/test.csv"
awk -F, -v k=5 'FNR == 1 { next }
  NR == FNR { rel[$1 "," $2] = 1; n[$1]++; next }
  ($1 "," $3) in rel { h[$1]++; ap[$1] += h[$1] / $2; dcg[$1] += log(2) / log($2 + 1) }
  END { for (u in n) {
      idcg = 0; for (i = 1; i <= (n[u] < k ? n[u] : k); i++) idcg += log(2) / log(i + 1)
      p += h[u] / k; r += h[u] / n[u]; m += ap[u] / (n[u] < k ? n[u] : k); g += dcg[u] / idcg; c++ }
    printf "%.10f %.10f %.10f %.10f\n", p / c, r / c, m / c, g / c }' "$WORK/test.csv" "$WORK/rec.csv" >"$WORK/awk.txt"
figure() { awk -v key="\"$2\":" '/^  "model": \{/ { inside = 1 } inside && index($0, key) { sub(/.*: */, ""); sub(/,$/, ""); printf "%.10f", $0; exit }' "$1"; }
expect_eq "$(cat "$WORK/awk.txt")" "$(figure "$WORK/eval1.json" precision) $(figure "$WORK/eval1.json" recall) $(figure "$WORK/eval1.json" map) $(figure "$WORK/eval1.json" ndcg)" "figures from recommend's lists"

# Figures per segment of activity (training pairs per user), in JSON and a table.
expect_contains "$WORK/eval1.json" '"name": "1-4"' "segment 1-4 in JSON"
expect_contains "$WORK/eval1.json" '"name": "20+"' "segment 20+ in JSON"
expect_exit 0 "evaluate table with segments" -- "$VIDREC" evaluate --model "$WORK/m.vrm" --test "$WORK/test.vrd" -k 5
expect_contains "$WORK/out" "by training pairs per user" "segment table"
expect_contains "$WORK/out" "5-19     popularity" "segment rows"

# Evaluating on the training data itself: every relevant video is excluded as
# seen, which the report points out.
expect_exit 0 "evaluate on train" -- "$VIDREC" evaluate --model "$WORK/m.vrm" --test "$WORK/train.vrd"
expect_contains "$WORK/out" "note:" "seen-in-training note"
expect_contains "$WORK/out" "n/a" "AUC undefined without reachable relevant videos"

finish
