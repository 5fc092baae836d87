#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# End-to-end tests of `vidrec tune` on the real binary: usage errors, the
# trial lines, the config file round trip through `vidrec train --config`,
# determinism across thread counts, the temporary directory, the model.
# Usage: tune_test.sh PATH/TO/vidrec PROJECT_ROOT
VIDREC=$1
ROOT=$2
. "$ROOT/tests/e2e/lib.sh"

# 200 users in 4 taste groups, 18 events each (lib.sh).
taste_log 200 18 5 >"$WORK/log.csv"
"$VIDREC" prepare "$WORK/log.csv" -o "$WORK/all.vrd" -q &&
  "$VIDREC" split "$WORK/all.vrd" -o "$WORK/train.vrd" --test "$WORK/test.vrd" -q ||
  { echo "setup failed"; exit 1; }
# A small space keeps each run to a second or so.
echo '{"factors": {"choices": [8, 16]}, "iterations": {"min": 2, "max": 8}}' >"$WORK/space.json"
mkdir "$WORK/tmp"
tune_with() { TMPDIR="$WORK/tmp" "$VIDREC" tune "$WORK/train.vrd" --trials 6 "$@"; }
tune() { tune_with --space "$WORK/space.json" "$@"; }

# Usage errors: exit 2, naming the rule, the file or the key; nothing written.
echo '{"factors": 8, "colour": "blue"}' >"$WORK/bad.json"
expect_exit 2 "unknown key in --space" -- tune_with -o "$WORK/x.vrm" --space "$WORK/bad.json"
expect_contains "$WORK/err" "bad.json: unknown key \"colour\"" "unknown key named"
echo '{"factors": ' >"$WORK/broken.json"
expect_exit 2 "--space not JSON" -- tune_with -o "$WORK/x.vrm" --space "$WORK/broken.json"
expect_contains "$WORK/err" "broken.json: not valid JSON" "bad JSON named"
echo '{"alpha": {"min": 5, "max": 1}}' >"$WORK/range.json"
expect_exit 2 "--space min > max" -- tune_with -o "$WORK/x.vrm" --space "$WORK/range.json"
expect_contains "$WORK/err" "alpha: min 5 is above max 1" "range rule named"
expect_exit 2 "--space missing" -- tune_with -o "$WORK/x.vrm" --space "$WORK/none.json"
expect_exit 2 "bad metric" -- tune -o "$WORK/x.vrm" --metric mrr@10
expect_contains "$WORK/err" "metric must be ndcg@K" "metric rule named"
expect_exit 2 "validation fraction 1" -- tune -o "$WORK/x.vrm" --validation-fraction 1
expect_exit 2 "bad budget" -- tune -o "$WORK/x.vrm" --budget 10x
expect_exit 2 "bad --by" -- tune -o "$WORK/x.vrm" --by user
expect_exit 2 "model to stdout" -- tune -o -
expect_exit 2 "config over the dataset" -- tune -o "$WORK/x.vrm" --config-out "$WORK/train.vrd"
expect_exit 1 "missing dataset" -- "$VIDREC" tune "$WORK/none.vrd" -o "$WORK/x.vrm" --trials 2
expect_contains "$WORK/err" "none.vrd" "missing dataset named"
expect_eq "$(ls "$WORK" | grep -c '^x\.vrm\(\.toml\)\?$')" "0" "failed runs write neither model nor settings"

# A normal run: one JSON line per evaluation on stdout, a summary on stderr.
expect_exit 0 "tune" -- tune -o "$WORK/m.vrm" --threads 1
cp "$WORK/out" "$WORK/lines1"
expect_eq "$(wc -l <"$WORK/lines1")" "25" "6 trials over rungs 2, 4, 8: 10 evaluations, then 5 x 3 to check"
expect_contains "$WORK/err" "tune: best ndcg@10" "summary"
expect_contains "$WORK/err" "settings -> $WORK/m.vrm.toml" "settings path in the summary"
if command -v python3 >/dev/null; then
  if python3 -c '
import json, sys
for line in open(sys.argv[1]):
    j = json.loads(line)
    assert set(j) >= {"trial", "rung", "iterations", "seed", "parameters", "metric", "value", "seconds"}, j
    assert j["metric"] == "ndcg@10" and j["iterations"] in (2, 4, 8), j
    assert j["parameters"]["factors"] in (8, 16) and j["parameters"]["iterations"] == j["iterations"], j
    assert j["value"] is None or 0 <= j["value"] <= 1, j
' "$WORK/lines1"; then pass; else fail "trial lines are not the JSON described"; fi
else
  expect_eq "$(grep -c '^{"trial":[0-9]*,"rung":[0-9],"iterations":[0-9]*,"seed":[0-9]*,"parameters":{.*},"metric":"ndcg@10","value":' "$WORK/lines1")" \
    "25" "trial lines"
fi
expect_eq "$(ls -A "$WORK/tmp")" "" "the temporary directory is removed"

# The config file: `vidrec train --config` trains the very same model.
expect_contains "$WORK/m.vrm.toml" "[train]" "config section"
expect_contains "$WORK/m.vrm.toml" "seed = 42" "config seed"
expect_exit 0 "train --config" -- "$VIDREC" train "$WORK/train.vrd" -o "$WORK/again.vrm" --config "$WORK/m.vrm.toml" -q
checksum() { "$VIDREC" inspect --json "$1" | grep -m1 '"factors_checksum"'; }
expect_eq "$(checksum "$WORK/again.vrm")" "$(checksum "$WORK/m.vrm")" "train --config gives the same factors"
"$VIDREC" inspect --json "$WORK/m.vrm" >"$WORK/meta.json"
expect_contains "$WORK/meta.json" '"tune"' "tune recorded in the model"
expect_contains "$WORK/meta.json" '"seeds": 4' "the final check's seeds recorded"

# The same seed with 2 threads: the same evaluations (times aside) and model.
expect_exit 0 "tune 2 threads" -- tune -o "$WORK/m2.vrm" --threads 2 -q
strip() { sed 's/,"seconds":[0-9.e+-]*//' "$1"; }
expect_eq "$(strip "$WORK/out")" "$(strip "$WORK/lines1")" "same evaluations with 2 threads"
expect_eq "$(checksum "$WORK/m2.vrm")" "$(checksum "$WORK/m.vrm")" "same model with 2 threads"
expect_eq "$(wc -c <"$WORK/err")" "0" "-q: nothing on stderr"

# SIGTERM mid-search: the process dies of it and its temporary directory goes.
TMPDIR="$WORK/tmp" "$VIDREC" tune "$WORK/train.vrd" -o "$WORK/killed.vrm" --trials 500 -q >/dev/null 2>&1 &
sleep 1
kill -TERM $!
wait $!
expect_eq "$?" "143" "killed by SIGTERM"
expect_eq "$(ls -A "$WORK/tmp")" "" "SIGTERM removes the temporary directory"

# The tuned model recommends, and evaluates on the held-out test part.
expect_exit 0 "recommend" -- "$VIDREC" recommend --model "$WORK/m.vrm" --user user007 -k 5
expect_contains "$WORK/out" '"userId":"user007","recommendations":[{"videoId":"vid' "recommendations"
expect_exit 0 "evaluate" -- "$VIDREC" evaluate --model "$WORK/m.vrm" --test "$WORK/test.vrd"
expect_contains "$WORK/out" "ndcg@10" "evaluated"

finish
